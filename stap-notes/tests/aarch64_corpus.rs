//! Argument strings of real arm64 builds (Debian 12's python3.11, libruby,
//! libjvm, postgres and libstdc++, collected from the arm64 `.deb` files),
//! parsed and compared with independently written expected parses.
//!
//! `corpus/aarch64/notes.tsv` holds every note's argument string;
//! `corpus/aarch64/args.tsv` maps each distinct token to its expected
//! canonical form (see `ArgSpec`'s `Display`).

use std::collections::BTreeMap;

use stap_notes::args::{parse_arg, ArgTokens};
use stap_notes::Arch;

const NOTES: &str = include_str!("corpus/aarch64/notes.tsv");
const EXPECTED: &str = include_str!("corpus/aarch64/args.tsv");

#[test]
fn every_aarch64_argument_in_the_corpus_parses_as_expected() {
    let expected: BTreeMap<&str, &str> =
        EXPECTED.lines().filter(|l| !l.is_empty()).map(|l| l.split_once('\t').expect("TOKEN\\tEXPECTED")).collect();
    let mut seen = 0;
    for line in NOTES.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "{line}");
        for tok in ArgTokens::new(cols[3]) {
            let tok = tok.expect("balanced");
            let want = expected.get(tok).unwrap_or_else(|| panic!("token {tok} missing from args.tsv"));
            let got = parse_arg(tok, Arch::AArch64).unwrap_or_else(|e| panic!("{}:{}: `{tok}`: {e}", cols[1], cols[2]));
            assert_eq!(got.to_string(), *want, "{}:{} `{tok}`", cols[1], cols[2]);
            seen += 1;
        }
    }
    assert!(seen > 1000, "only {seen} arguments read from the corpus");
}
