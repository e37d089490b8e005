#[usdt_runtime::provider]
mod p {
    fn a(x: u8);
    const B: u8 = 1;
}

fn main() {}
