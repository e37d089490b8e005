#[usdt_runtime::provider]
mod p {
    fn a(x: u8);
}

fn main() {
    p::a!(|| "not a u8");
}
