//! Compiles the gRPC API in `proto/` and writes the descriptor set that server reflection serves.
//!
//! Every `.proto` file in `proto/registratur/v1/` is compiled (sorted by name), so a new service needs
//! no line here and the list cannot disagree with the directory.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let dir = std::path::Path::new("../../proto/registratur/v1");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut protos = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "proto") {
            protos.push(path);
        }
    }
    protos.sort();
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("registratur_descriptor.bin"))
        .compile_protos(&protos, &[std::path::PathBuf::from("../../proto")])?;
    Ok(())
}
