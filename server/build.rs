//! With the `embed-site` feature: the built site (`LEADS_SITE_DIR`, the
//! folder cargo-leptos fills: pkg/ with the WASM, JS, CSS; the favicon)
//! goes into the binary, each file with gzip and brotli copies made here
//! and an ETag; `SITE_VERSION` (a hash of them all) versions their URLs.
//! Without it: an empty list, and the site is served from `--site-root`.

use std::io::Write;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if !p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            out.push(p);
        }
    }
}

/// FNV-1a, 64 bits: an ETag that changes with the content.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn main() {
    println!("cargo:rerun-if-env-changed=LEADS_SITE_DIR");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mut code = String::from("pub static ASSETS: &[Asset] = &[\n");
    let mut version = 0u64;
    if std::env::var_os("CARGO_FEATURE_EMBED_SITE").is_some() {
        let site = std::env::var("LEADS_SITE_DIR")
            .expect("embed-site needs LEADS_SITE_DIR: the built site (make dist sets it)");
        let site = PathBuf::from(site);
        println!("cargo:rerun-if-changed={}", site.display());
        let mut list = Vec::new();
        files(&site, &mut list);
        assert!(
            list.iter()
                .any(|p| p.extension().is_some_and(|e| e == "wasm")),
            "no .wasm under {}: build the site first",
            site.display()
        );
        list.sort();
        for (i, path) in list.iter().enumerate() {
            println!("cargo:rerun-if-changed={}", path.display());
            let body = std::fs::read(path).expect("read a site file");
            let gz_path = out_dir.join(format!("asset-{i}.gz"));
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&body).expect("gzip");
            std::fs::write(&gz_path, gz.finish().expect("gzip")).expect("write gzip");
            let br_path = out_dir.join(format!("asset-{i}.br"));
            let mut br = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
                w.write_all(&body).expect("brotli");
            }
            std::fs::write(&br_path, br).expect("write brotli");
            version = version.rotate_left(5) ^ fnv(&body);
            let url = path
                .strip_prefix(&site)
                .expect("under the site")
                .to_string_lossy()
                .replace('\\', "/");
            code.push_str(&format!(
                "    Asset {{ path: {:?}, body: include_bytes!({:?}), gzip: include_bytes!({:?}), brotli: include_bytes!({:?}), etag: \"\\\"{:016x}\\\"\" }},\n",
                format!("/{url}"),
                path.canonicalize().expect("path"),
                gz_path,
                br_path,
                fnv(&body)
            ));
        }
    }
    code.push_str("];\n");
    code.push_str(&format!(
        "pub const SITE_VERSION: &str = \"{version:012x}\";\n"
    ));
    std::fs::write(out_dir.join("assets.rs"), code).expect("write assets.rs");
}
