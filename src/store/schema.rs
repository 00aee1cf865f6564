//! Table definitions shared by both backends (portable column types only).

diesel::table! {
    enterprises (uscc) {
        uscc -> Text,
        name -> Text,
        legal_representative -> Text,
        address -> Text,
        dismantling_sites -> Text,
        uscc_override_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        division -> Nullable<Text>,
    }
}

diesel::table! {
    branches (id) {
        id -> Text,
        enterprise_uscc -> Text,
        name -> Text,
        address -> Text,
        uscc -> Nullable<Text>,
        created_at -> Timestamp,
        uscc_override_reason -> Nullable<Text>,
    }
}

diesel::table! {
    desk_sessions (id) {
        id -> Text,
        token_id -> Text,
        csrf -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    tokens (id) {
        id -> Text,
        token_hash -> Text,
        role -> Text,
        enterprise_uscc -> Nullable<Text>,
        label -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        licence_number -> Nullable<Text>,
        office -> Nullable<Text>,
        level -> Nullable<Text>,
        division -> Nullable<Text>,
        org -> Nullable<Text>,
        township -> Nullable<Text>,
    }
}

diesel::table! {
    lookups (id) {
        id -> BigInt,
        at -> Timestamp,
        by_kind -> Text,
        query -> Text,
        matches -> Integer,
        role -> Text,
        token_id -> Nullable<Text>,
    }
}

diesel::table! {
    qualifications (number) {
        number -> Text,
        enterprise_uscc -> Text,
        issuing_authority -> Text,
        issued_on -> Date,
        valid_until -> Nullable<Date>,
        revision -> Integer,
        status -> Text,
        revocation_kind -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    qualification_revisions (number, revision) {
        number -> Text,
        revision -> Integer,
        enterprise_name -> Text,
        legal_representative -> Text,
        address -> Text,
        dismantling_sites -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
        qr_url -> Nullable<Text>,
        status_index -> Nullable<BigInt>,
    }
}

diesel::table! {
    qualification_status_history (id) {
        id -> BigInt,
        number -> Text,
        status -> Text,
        kind -> Nullable<Text>,
        reason -> Nullable<Text>,
        at -> Timestamp,
        effective_at -> Timestamp,
    }
}

diesel::table! {
    recycling_certificates (number) {
        number -> Text,
        enterprise_uscc -> Text,
        qualification_number -> Text,
        branch_id -> Nullable<Text>,
        revision -> Integer,
        vin -> Text,
        vin_override_reason -> Nullable<Text>,
        plate -> Text,
        plate_type -> Text,
        vehicle_type -> Text,
        commercial -> Bool,
        brand_model -> Text,
        engine_number -> Text,
        fuel_type -> Text,
        battery_codes -> Text,
        owner_name -> Text,
        owner_id_type -> Text,
        owner_id_number -> Text,
        received_on -> Date,
        status -> Text,
        registered_at -> Timestamp,
        voided_at -> Nullable<Timestamp>,
        void_reason -> Nullable<Text>,
        deregistered_at -> Nullable<Timestamp>,
        deregistration_office -> Nullable<Text>,
        qr_url -> Nullable<Text>,
        status_index -> Nullable<BigInt>,
        owner_id_override_reason -> Nullable<Text>,
    }
}

diesel::table! {
    dismantlings (rc_number) {
        rc_number -> Text,
        dismantled_on -> Date,
        site -> Text,
        supervision_kind -> Nullable<Text>,
        supervision_officer -> Nullable<Text>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    events (seq) {
        seq -> BigInt,
        subject_kind -> Text,
        subject_id -> Text,
        event_type -> Text,
        at -> Timestamp,
        actor_role -> Text,
        actor_token_id -> Nullable<Text>,
        data -> Text,
        actor_level -> Nullable<Text>,
        actor_division -> Nullable<Text>,
        actor_org -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (enterprise_uscc, idempotency_key) {
        enterprise_uscc -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    scans (id) {
        id -> BigInt,
        cert_kind -> Nullable<Text>,
        cert_number -> Nullable<Text>,
        signature_ok -> Bool,
        at -> Timestamp,
        role -> Text,
        token_id -> Nullable<Text>,
        purpose -> Text,
        checkpoint -> Nullable<Text>,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        verdict -> Text,
        findings -> Nullable<Text>,
        presented_uscc -> Nullable<Text>,
    }
}

diesel::table! {
    scan_counters (cert_kind, cert_number, day, role, outcome) {
        cert_kind -> Text,
        cert_number -> Text,
        day -> Date,
        role -> Text,
        outcome -> Text,
        count -> BigInt,
    }
}

diesel::table! {
    scan_summaries (cert_kind, cert_number) {
        cert_kind -> Text,
        cert_number -> Text,
        last_positioned_at -> Nullable<Timestamp>,
        last_lat -> Nullable<Double>,
        last_lon -> Nullable<Double>,
        last_scan_at -> Timestamp,
        recent_scans -> Text,
    }
}

diesel::table! {
    survey_entries (id) {
        id -> Text,
        division -> Text,
        township -> Text,
        site_name -> Text,
        address -> Text,
        business_scope -> Text,
        parts_flow -> Text,
        reporter -> Text,
        reporter_phone -> Text,
        found_on -> Date,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        note -> Nullable<Text>,
        site_match -> Text,
        matched_uscc -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        division -> Text,
        subject_kind -> Text,
        subject_ref -> Text,
        offence -> Text,
        source -> Text,
        township -> Text,
        found_on -> Date,
        responsible_unit -> Text,
        deadline -> Nullable<Date>,
        note -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    complaints (id) {
        id -> Text,
        receipt -> Text,
        division -> Nullable<Text>,
        kind -> Text,
        text -> Text,
        location -> Nullable<Text>,
        certificate -> Nullable<Text>,
        contact -> Nullable<Text>,
        received_at -> Timestamp,
    }
}

diesel::joinable!(branches -> enterprises (enterprise_uscc));
diesel::joinable!(qualifications -> enterprises (enterprise_uscc));
diesel::joinable!(recycling_certificates -> enterprises (enterprise_uscc));
diesel::joinable!(dismantlings -> recycling_certificates (rc_number));
diesel::joinable!(log_leaves -> events (event_seq));
diesel::joinable!(desk_sessions -> tokens (token_id));

diesel::table! {
    log_state (id) {
        id -> Integer,
        size -> BigInt,
        salt -> Nullable<Binary>,
    }
}

diesel::table! {
    log_hashes (id) {
        id -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    log_leaves (idx) {
        idx -> BigInt,
        event_seq -> BigInt,
        leaf -> Binary,
    }
}

diesel::table! {
    log_checkpoints (size) {
        size -> BigInt,
        note -> Text,
        signed_at -> Timestamp,
    }
}

diesel::table! {
    log_leaf_hashes (idx) {
        idx -> BigInt,
        leaf_hash -> Binary,
    }
}

diesel::table! {
    holds (id) {
        id -> Text,
        vin -> Nullable<Text>,
        engine_number -> Nullable<Text>,
        plate -> Nullable<Text>,
        reason -> Text,
        note -> Text,
        case_number -> Nullable<Text>,
        status -> Text,
        placed_at -> Timestamp,
        placed_by_role -> Text,
        placed_by_token -> Nullable<Text>,
        confirmed_at -> Nullable<Timestamp>,
        released_at -> Nullable<Timestamp>,
        release_reason -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    holds,
    lookups,
    enterprises,
    survey_entries,
    cases,
    complaints,
    branches,
    tokens,
    desk_sessions,
    qualifications,
    qualification_revisions,
    qualification_status_history,
    recycling_certificates,
    dismantlings,
    events,
    idempotency_keys,
    scans,
    scan_counters,
    scan_summaries,
    log_state,
    log_hashes,
    log_leaves,
    log_checkpoints,
    log_leaf_hashes,
);
