#[usdt_runtime::provider]
mod p {
    fn a(s0: &str, s1: &str, s2: &str, s3: &str, s4: &str, s5: &str, s6: &str);
}

fn main() {}
