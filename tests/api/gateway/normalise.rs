//! The test oracle of the path property: a path as the most lenient backend reads it — escapes
//! decoded until nothing changes, `\` read as `/`, `;params` dropped, empty segments merged,
//! dot-segments resolved. Written independently of the proxy's own reading, and shared by the
//! proxy's unit property test (`proxy/src/canonical/proptests.rs` includes this file).

/// The fully normalised form of `path`.
pub fn fully_normalised(path: &str) -> String {
    let mut bytes = path.as_bytes().to_vec();
    loop {
        let next: Vec<u8> = percent_encoding::percent_decode(&bytes).collect();
        if next == bytes {
            break;
        }
        bytes = next;
    }
    let text = String::from_utf8_lossy(&bytes).replace('\\', "/");
    let mut out: Vec<&str> = Vec::new();
    for seg in text.split('/').skip(1) {
        match seg.split(';').next().unwrap_or("") {
            "." | "" => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

/// `path` is `floor` or below it, on a segment boundary.
pub fn is_under(path: &str, floor: &str) -> bool {
    path == floor || path.starts_with(&format!("{floor}/"))
}
