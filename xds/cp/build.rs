// weir-cp is stamped as weir is: one build script for both.
include!("../../host/build.rs");
