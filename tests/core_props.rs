//! Property tests: random sequences of API calls and SDK events drive the core; after every step the
//! published view must agree with the simulated SDK and with the contract's invariants. The world, the
//! steps and the invariants are `core::testkit` (shared with the `core_ops` fuzz target in fuzz/); this
//! file holds the proptest strategy and the walks.

use proptest::prelude::*;

use dap_link_manager::core::testkit::{run, Step, World, ADDRS, N1, N2, NETS};
use dap_link_manager::core::{channels, Op, TickPhase};

/// The proptest strategy for one step; `Step`'s `Arbitrary` impl (the fuzz targets' decoder) mirrors
/// these weights and ranges.
fn step() -> impl Strategy<Value = Step> {
    let a = 0..ADDRS.len();
    let net = prop_oneof![Just(N1), Just(N2)];
    let phase = prop_oneof![Just(None), Just(Some(TickPhase::WakeUp)), Just(Some(TickPhase::LinksRequest))];
    prop_oneof![
        2 => net.clone().prop_map(Step::AddNet),
        1 => net.clone().prop_map(Step::Associate),
        3 => (net.clone(), prop::bool::weighted(0.7)).prop_map(|(n, on)| Step::NetCondition(n, on)),
        1 => net.prop_map(Step::RemoveNet),
        6 => (a.clone(), 0..NETS.len()).prop_map(|(a, n)| Step::Create(a, n)),
        2 => a.clone().prop_map(Step::Update),
        4 => (a.clone(), any::<bool>()).prop_map(|(a, up)| Step::StreamAdd(a, up)),
        2 => (a.clone(), any::<bool>()).prop_map(|(a, up)| Step::StreamReplace(a, up)),
        3 => a.clone().prop_map(Step::StreamDelete),
        5 => (0..3usize, a.clone(), prop::bool::weighted(0.6)).prop_map(|(n, a, ok)| Step::Accounting(n, a, ok)),
        2 => (0..2usize, a.clone()).prop_map(|(c, a)| Step::StaticJoin(c, a)),
        2 => (0..2usize, a.clone()).prop_map(|(c, a)| Step::StaticLeave(c, a)),
        1 => (0..2usize, any::<bool>()).prop_map(|(c, on)| Step::EnableStatic(c, on)),
        4 => a.clone().prop_map(Step::Connected),
        4 => (a.clone(), any::<bool>()).prop_map(|(a, last)| Step::Error(a, last)),
        2 => (a.clone(), 1..16u64, any::<bool>()).prop_map(|(a, t, c)| Step::StaleEvent(a, t, c)),
        1 => a.prop_map(Step::ClientStage),
        1 => any::<bool>().prop_map(Step::AnnounceFails),
        1 => prop::bool::weighted(0.3).prop_map(Step::ClientNewFails),
        6 => phase.prop_map(Step::Tick),
        1 => prop::bool::weighted(0.8).prop_map(Step::Condition),
        4 => prop_oneof![0..30u64, 100..1000u64].prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_step(steps in prop::collection::vec(step(), 1..80)) {
        run(&steps, 1);
    }

    #[test]
    fn invariants_hold_with_several_attempts(steps in prop::collection::vec(step(), 1..80)) {
        run(&steps, 3);
    }
}

/// Long walks: the same steps and invariants over one World for many steps, so slow effects
/// (hot-list expiry, reconnect cadence, attempts) accumulate. `LM_WALK_STEPS` sets the total
/// (default 1,000,000 across the walks in an optimised build, which CI runs with
/// `cargo test --release --test core_props`; 50,000 in a debug build), `LM_WALK_SEED` the first seed.
#[test]
fn long_random_walks_keep_the_invariants() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let total: usize = std::env::var("LM_WALK_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 50_000 } else { 1_000_000 });
    let seed: u64 = std::env::var("LM_WALK_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed);
    const WALK: usize = 20_000;
    let strategy = step();
    let mut done = 0usize;
    let mut walk = 0u64;
    while done < total {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&(seed + walk).to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        let n = WALK.min(total - done);
        let steps: Vec<Step> = (0..n).map(|_| strategy.new_tree(&mut runner).expect("a step").current()).collect();
        run(&steps, 1 + (walk % 3) as u32);
        done += n;
        walk += 1;
    }
    eprintln!("{done} steps in {walk} walks, invariants checked after every step");
}

/// §9: link_update hands the client the current process-wide channel list (FIX-CHANNELS-GLOBAL). Lives
/// here, not with the rounds, because it changes process-wide state that their journals include.
#[test]
fn link_update_sets_the_current_active_channels() {
    let mut w = World::new(1);
    w.apply(Op::AddNet { net: N1, cluster: w.clusters[0], min_links: 1 });
    w.apply(Op::LinkCreate { addr: 0xC3, net: N1 });
    assert_eq!(channels::add(b'X', true), Ok(()));
    w.sdk.take_journal();
    w.apply(Op::LinkUpdate { addr: 0xC3, host: "10.0.0.1".into(), port: 1 });
    let lines = w.sdk.take_journal();
    assert_eq!(channels::remove(b'X'), Ok(()));
    assert!(lines.iter().any(|l| l.starts_with("set_channels") && l.ends_with(" RCGENDX")), "{lines:?}");
}
