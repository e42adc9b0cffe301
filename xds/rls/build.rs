// weir-rls is stamped as weir is: one build script for all binaries.
include!("../../host/build.rs");
