//! Renders `include/dap_link_manager.h` with cbindgen and checks it against the committed file.
//!
//! The build never rewrites the committed header unless `DAP_LM_UPDATE_HEADER=1`; on drift it warns, and
//! fails when `DAP_LM_HEADER_CHECK=strict` (CI). The rendering is also written to `$OUT_DIR` so a unit
//! test can compare the two (`cargo test` fails on drift too).
use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=DAP_LM_UPDATE_HEADER");
    println!("cargo:rerun-if-env-changed=DAP_LM_HEADER_CHECK");

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let patch = env::var("CARGO_PKG_VERSION_PATCH").unwrap();
    config.after_includes = Some(format!(
        "{}\n#define DAP_LINK_MANAGER_VERSION_MAJOR {major}\n#define DAP_LINK_MANAGER_VERSION_MINOR {minor}\n\
         #define DAP_LINK_MANAGER_VERSION_PATCH {patch}\n#define DAP_LINK_MANAGER_VERSION_STRING \"{major}.{minor}.{patch}\"\n",
        config.after_includes.clone().unwrap_or_default()
    ));
    let rendered = match cbindgen::Builder::new().with_crate(&crate_dir).with_config(config).generate() {
        Ok(b) => {
            let mut buf = Vec::new();
            b.write(&mut buf);
            String::from_utf8(buf).expect("utf-8 header")
        }
        Err(e) => {
            println!("cargo:warning=cbindgen failed: {e}");
            return;
        }
    };
    fs::write(out_dir.join("dap_link_manager.h"), &rendered).expect("write OUT_DIR header");

    let committed_path = crate_dir.join("include/dap_link_manager.h");
    let committed = fs::read_to_string(&committed_path).unwrap_or_default();
    if committed == rendered {
        return;
    }
    if env::var("DAP_LM_UPDATE_HEADER").as_deref() == Ok("1") {
        fs::write(&committed_path, &rendered).expect("write include/dap_link_manager.h");
        println!("cargo:warning=include/dap_link_manager.h updated");
    } else if env::var("DAP_LM_HEADER_CHECK").as_deref() == Ok("strict") {
        panic!("include/dap_link_manager.h is out of date: rebuild with DAP_LM_UPDATE_HEADER=1 and commit it");
    } else {
        println!(
            "cargo:warning=include/dap_link_manager.h differs from the rendering (DAP_LM_UPDATE_HEADER=1 to update)"
        );
    }
}
