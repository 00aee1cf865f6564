//! The `code` member of every problem+json answer (RFC 9457): a stable
//! public contract, never renamed. The HTTP layer chooses the status.

wire_enum!(
    /// Problem codes, as listed under `ProblemCode` in openapi.yaml.
    ProblemCode {
        MalformedRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        // A path that exists, with a method it does not take (405, `Allow`).
        MethodNotAllowed,
        DuplicateEnterprise,
        DuplicateNumber,
        QualificationExists,
        DuplicateVehicle,
        QualificationNotActive,
        AlreadyDismantled,
        Voided,
        InvalidTransition,
        AlreadyDeregistered,
        PresentedMismatch,
        PayloadTooLarge,
        ValidationFailed,
        VehicleIncomplete,
        VehicleEncumbered,
        SupervisedDismantlingRequired,
        BranchCannotDismantle,
        UnknownSite,
        IdempotencyKeyReused,
        QrNotFound,
        // Re-signing a QR whose key was not compromised when it signed.
        ResignNotNeeded,
        // Deregistration refusals reuse finding codes (SPEC §14).
        QrMalformed,
        QrUnsupportedAlg,
        QrUnknownKey,
        QrBadSignature,
        QrKeyCompromised,
        IssuerNotQualified,
        // A hold in force on the vehicle (SPEC §14): registration and
        // deregistration refuse.
        VehicleHeld,
        // The token's role may do this, but not here (SPEC §15).
        OutOfJurisdiction,
        // A new QC within three years of a penalty revocation (SPEC §15).
        ReapplicationBarred,
        RateLimited,
        // The request's body did not arrive within its deadline (SPEC §16).
        RequestTimeout,
        InternalError,
        DatabaseUnavailable,
    }
);

wire_enum!(
    /// The `errors[].code` of a field-level problem.
    FieldCode {
        Required,
        InvalidFormat,
        InvalidCheckDigit,
        TooLong,
        InFuture,
        OutOfOrder,
        UnknownValue,
    }
);
