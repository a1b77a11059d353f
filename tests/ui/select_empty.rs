async fn nothing_to_wait_for() {
    weft::select! {}
}

async fn biased_and_nothing_else() {
    weft::select! {
        biased;
    }
}

fn main() {}
