async fn missing_equals() {
    weft::select! {
        v std::future::ready(1) => v,
    }
}

async fn missing_arrow() {
    weft::select! {
        v = std::future::ready(1) v,
    }
}

async fn missing_comma() -> u8 {
    weft::select! {
        v = std::future::ready(1) => v
        w = std::future::ready(2) => w,
    }
}

async fn else_not_last() -> u8 {
    weft::select! {
        else => 0,
        v = std::future::ready(1) => v,
    }
}

fn main() {}
