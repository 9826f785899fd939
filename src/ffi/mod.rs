//! The C ABI: every exported function, one file per API area.
