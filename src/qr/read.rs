//! Reading a QR from a photo or scan (PNG or JPEG), for uploads from the
//! landing page and `POST /api/v1/verify/image`.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// Uploads are limited to 5 MiB (SPEC §6).
pub const MAX_UPLOAD: usize = 5 * 1024 * 1024;
/// Pixels a decoded image may have at most (a 12-megapixel phone photo is
/// 4032×3024). With the allocation cap this bounds one decode's memory.
pub const MAX_PIXELS: u64 = 16_000_000;
/// Memory one decode may allocate.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;
/// Photos are searched at this size first: QR detection is much faster and
/// phone photos of a printed QR are far larger than needed; then at most at
/// `LARGEST_SEARCH_SIDE`, never at a larger full size.
const SEARCH_SIDE: u32 = 1600;
const LARGEST_SEARCH_SIDE: u32 = 2400;

#[derive(
    Debug, Clone, Copy, thiserror::Error, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(serialize_all = "snake_case")]
pub enum ReadError {
    #[error("the file is not a PNG or JPEG image")]
    NotAnImage,
    #[error("the file is larger than 5 MiB")]
    TooLarge,
    #[error("the image has more than 16 megapixels")]
    TooManyPixels,
    #[error("no QR code was found in the image")]
    NoQr,
}

fn decode(bytes: &[u8]) -> Result<DynamicImage, ReadError> {
    let format = image::guess_format(bytes).map_err(|_| ReadError::NotAnImage)?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg) {
        return Err(ReadError::NotAnImage);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let (w, h) = reader
        .into_dimensions()
        .map_err(|_| ReadError::NotAnImage)?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(ReadError::TooManyPixels);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    reader.decode().map_err(|_| ReadError::NotAnImage)
}

fn find(img: &image::GrayImage) -> Option<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img.clone());
    prepared
        .detect_grids()
        .iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}

fn scaled(img: &image::GrayImage, side: u32) -> image::GrayImage {
    let (w, h) = img.dimensions();
    let longest = w.max(h);
    if longest <= side {
        return img.clone();
    }
    let scale = |v: u32| ((u64::from(v) * u64::from(side)) / u64::from(longest)).max(1) as u32;
    image::imageops::thumbnail(img, scale(w), scale(h))
}

/// The text of the first QR code found in the image.
pub fn read_qr(bytes: &[u8]) -> Result<String, ReadError> {
    if bytes.len() > MAX_UPLOAD {
        return Err(ReadError::TooLarge);
    }
    let gray = decode(bytes)?.to_luma8();
    let longest = gray.width().max(gray.height());
    let mut sides = vec![SEARCH_SIDE];
    if longest > SEARCH_SIDE {
        sides.push(longest.min(LARGEST_SEARCH_SIDE));
    }
    sides
        .into_iter()
        .find_map(|side| find(&scaled(&gray, side)))
        .ok_or(ReadError::NoQr)
}

#[cfg(test)]
mod cpu_time_tests {
    #[test]
    fn the_cpu_time_of_this_process_is_read() {
        // Burn a little CPU so that the tick counter moves.
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        assert_ne!(x, 1);
        if cfg!(target_os = "linux") {
            let spent = super::cpu_time(std::process::id()).expect("/proc/self/stat");
            assert!(spent > std::time::Duration::ZERO, "{spent:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qr_png(text: &str) -> Vec<u8> {
        crate::qr::render::png(text, qrcode::EcLevel::M).unwrap()
    }

    #[test]
    fn reads_our_own_png() {
        assert_eq!(
            read_qr(&qr_png("https://x.cn/v/a.b.c")).unwrap(),
            "https://x.cn/v/a.b.c"
        );
    }

    #[test]
    fn reads_a_qr_in_a_larger_jpeg_photo() {
        let qr = image::load_from_memory(&qr_png("https://x.cn/v/photo"))
            .unwrap()
            .to_luma8();
        let mut canvas = image::GrayImage::from_pixel(2400, 1800, image::Luma([180]));
        image::imageops::overlay(&mut canvas, &qr, 900, 500);
        let mut jpeg = Vec::new();
        DynamicImage::ImageLuma8(canvas)
            .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        assert_eq!(read_qr(&jpeg).unwrap(), "https://x.cn/v/photo");
    }

    #[test]
    fn tells_what_went_wrong() {
        assert_eq!(read_qr(b"GIF89a....").unwrap_err(), ReadError::NotAnImage);
        assert_eq!(read_qr(b"hello").unwrap_err(), ReadError::NotAnImage);
        let blank = image::GrayImage::from_pixel(200, 200, image::Luma([255]));
        let mut png = Vec::new();
        DynamicImage::ImageLuma8(blank)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        assert_eq!(read_qr(&png).unwrap_err(), ReadError::NoQr);
        assert_eq!(
            read_qr(&vec![0u8; MAX_UPLOAD + 1]).unwrap_err(),
            ReadError::TooLarge
        );
    }
}

/// The child side of an isolated decode (`scrapcert decode-qr`): the image on
/// stdin, one line on stdout: `ok <text>` or `err <reason>`.
pub fn decode_child() -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let mut image = Vec::new();
    std::io::stdin()
        .take(MAX_UPLOAD as u64 + 1)
        .read_to_end(&mut image)?;
    let line = match read_qr(&image) {
        Ok(text) => format!("ok {text}"),
        Err(e) => format!("err {}", <&str>::from(e)),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Why an isolated decode gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum IsolatedError {
    /// The decode took longer than its limit and was killed.
    #[error("the QR decode exceeded its time limit and was stopped")]
    TimedOut,
    #[error("the QR decoder failed: {0}")]
    Failed(String),
}

/// The CPU time (user + system) a running process has used, from Linux's
/// `/proc/<pid>/stat` (in USER_HZ ticks, 100 a second on every Linux ABI).
fn cpu_time(pid: u32) -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its ')'.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(std::time::Duration::from_millis((utime + stime) * 10))
}

/// Decodes `image` in a child process (`decoder decode-qr`) that is killed
/// when it has used `limit` of CPU time: a crafted image cannot pin a core or hold a request.
/// Blocking: run it on the blocking pool.
pub fn read_qr_isolated(
    decoder: &std::path::Path,
    image: &[u8],
    limit: std::time::Duration,
) -> Result<Result<String, ReadError>, IsolatedError> {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    let failed = |e: std::io::Error| IsolatedError::Failed(e.to_string());
    let started = std::time::Instant::now();
    let mut child = Command::new(decoder)
        .arg("decode-qr")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(failed)?;
    // The child reads all of stdin before it starts, so this cannot block
    // on a full pipe for long; a child that died early gives a broken pipe.
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(image))
        .transpose();
    // The limit is CPU time where the system tells it (a busy machine
    // slows a decode down without making it more expensive), with a
    // wall-clock backstop for a child that is starved or stopped.
    let backstop = limit * 5 + std::time::Duration::from_secs(5);
    let status = loop {
        match child.try_wait().map_err(failed)? {
            Some(status) => break status,
            None => {
                let spent = cpu_time(child.id()).unwrap_or_else(|| started.elapsed());
                if spent >= limit || started.elapsed() >= backstop {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(IsolatedError::TimedOut);
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    };
    written.map_err(failed)?;
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut out).map_err(failed)?;
    }
    if !status.success() {
        return Err(IsolatedError::Failed(format!(
            "decoder exited with {status}"
        )));
    }
    match out.split_once(' ') {
        Some(("ok", text)) => Ok(Ok(text.to_string())),
        Some(("err", reason)) => reason
            .parse::<ReadError>()
            .map(Err)
            .map_err(|_| IsolatedError::Failed(format!("unknown answer {reason:?}"))),
        _ => Err(IsolatedError::Failed(format!("unreadable answer {out:?}"))),
    }
}
