//! QR images of a stored QR URL: PNG and SVG, error correction level M or
//! higher, a quiet zone of 4 modules (the `qrcode` default for normal QRs).

use qrcode::{EcLevel, QrCode, Version};

/// Pixels per module in PNGs: large enough to print and to photograph.
const PNG_MODULE_PX: u32 = 8;

pub fn ec_level(setting: &str) -> EcLevel {
    match setting {
        "H" => EcLevel::H,
        "Q" => EcLevel::Q,
        _ => EcLevel::M,
    }
}

fn encode(text: &str, level: EcLevel) -> anyhow::Result<QrCode> {
    QrCode::with_error_correction_level(text.as_bytes(), level)
        .map_err(|e| anyhow::anyhow!("QR encoding failed: {e}"))
}

/// The QR version a text needs (1–40).
pub fn version(text: &str, level: EcLevel) -> anyhow::Result<i16> {
    Ok(match encode(text, level)?.version() {
        Version::Normal(v) | Version::Micro(v) => v,
    })
}

pub fn png(text: &str, level: EcLevel) -> anyhow::Result<Vec<u8>> {
    let code = encode(text, level)?;
    let img = code
        .render::<image::Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(PNG_MODULE_PX, PNG_MODULE_PX)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| anyhow::anyhow!("PNG encoding failed: {e}"))?;
    Ok(out.into_inner())
}

pub fn svg(text: &str, level: EcLevel) -> anyhow::Result<String> {
    let code = encode(text, level)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(256, 256)
        .build())
}
