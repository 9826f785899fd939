//! The core state machine under arbitrary sequences of API calls, SDK events and time: the input bytes
//! decode into a `core::testkit::Scenario` (max attempts, then steps until the bytes run out) and run
//! exactly as the property tests do, invariants checked after every step, shutdown checked at the end.
//! Any contract violation is a panic, which libFuzzer reports as a crash.
#![no_main]

use dap_link_manager::core::testkit::Scenario;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|scenario: Scenario| scenario.run());
