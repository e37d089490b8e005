#[usdt_runtime::provider]
mod p {
    fn a(x: std::collections::HashMap<u8, u8>);
}

fn main() {}
