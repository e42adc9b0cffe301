//! Plugins: loaded once per process ([`LoadedPlugin`]: module compiled, config resolved), then
//! instantiated on every worker ([`WorkerPlugins`]: one VM per module and `vm_id`, one root
//! context per plugin). Module files are read through [`source`] (regular files under a size
//! cap; admin and ECDS paths only from the module directories).

pub mod clock;
mod loaded;
mod recovery;
pub mod source;
mod worker;

pub use loaded::LoadedPlugin;
pub use recovery::Recovery;
pub use worker::{PluginHandle, WorkerPlugins};
