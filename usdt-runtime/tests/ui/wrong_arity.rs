#[usdt_runtime::provider]
mod p {
    fn a(x: u8, y: &str);
}

fn main() {
    p::a!(|| (1u8, "two", 3));
}
