async fn nothing_to_wait_for() {
    weft::select! {}
}

async fn only_else() -> u8 {
    weft::select! {
        else => 0,
    }
}

fn main() {}
