//! Mapped and downgraded lock guards (tokio's shapes): RwLock read guards
//! map to read guards, write guards to mapped write guards or (downgraded)
//! read guards, the owned guards likewise; a mapping closure that finds
//! nothing hands the guard back; a panicking one releases the lock. Also
//! unsized data (`Mutex<dyn Fn()>`, `RwLock<[u8]>`) and the guards'
//! `Display`.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use common::Task;
use futures::executor::block_on;
use weft_sync::{
    Mutex, MutexGuard, OwnedMutexGuard, OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard,
    OwnedRwLockWriteGuard, RwLock, RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};

#[derive(Debug, Default)]
struct Pair {
    name: String,
    list: Vec<u32>,
}

#[test]
fn read_guard_maps_to_a_read_guard_of_the_part() {
    let lock = RwLock::new(Pair {
        name: "a".into(),
        list: vec![1, 2, 3],
    });
    let list: RwLockReadGuard<'_, Vec<u32>> =
        RwLockReadGuard::map(lock.try_read().unwrap(), |p| &p.list);
    let second: RwLockReadGuard<'_, u32> = RwLockReadGuard::map(list, |l| &l[1]);
    assert_eq!(*second, 2);
    // Still a reader: other readers in, writers out.
    assert_eq!(lock.try_read().unwrap().name, "a");
    assert!(lock.try_write().is_err());
    drop(second);
    assert!(lock.try_write().is_ok());
}

#[test]
fn read_guard_try_map_hands_the_guard_back_on_none() {
    let lock = RwLock::new(vec![7u32]);
    let guard = lock.try_read().unwrap();
    let guard = RwLockReadGuard::try_map(guard, |v| v.get(5)).expect_err("nothing at 5");
    assert_eq!(*guard, [7]);
    assert!(lock.try_write().is_err());
    let first = RwLockReadGuard::try_map(guard, |v| v.first()).expect("element 0");
    assert_eq!(*first, 7);
    drop(first);
    assert!(lock.try_write().is_ok());
}

#[test]
fn write_guard_maps_and_the_mapped_guard_maps_further() {
    let lock = RwLock::new(Pair::default());
    let mut list: RwLockMappedWriteGuard<'_, Vec<u32>> =
        RwLockWriteGuard::map(lock.try_write().unwrap(), |p| &mut p.list);
    list.push(4);
    assert!(lock.try_read().is_err(), "still write-locked");
    let mut last = RwLockMappedWriteGuard::map(list, |l| l.last_mut().unwrap());
    *last += 1;
    let last = RwLockMappedWriteGuard::try_map(last, |_| None::<&mut u8>).expect_err("none");
    assert_eq!(*last, 5);
    drop(last);
    assert_eq!(lock.try_read().unwrap().list, [5]);
}

#[test]
fn write_guard_try_map_and_into_mapped() {
    let lock = RwLock::new(vec![1u32]);
    let guard = lock.try_write().unwrap();
    let guard = RwLockWriteGuard::try_map(guard, |v| v.get_mut(3)).expect_err("nothing at 3");
    let mut first = RwLockWriteGuard::try_map(guard, |v| v.first_mut()).expect("element 0");
    *first = 10;
    drop(first);
    let mut whole = RwLockWriteGuard::into_mapped(lock.try_write().unwrap());
    whole.push(11);
    assert!(lock.try_read().is_err());
    drop(whole);
    assert_eq!(*lock.try_read().unwrap(), [10, 11]);
}

#[test]
fn downgrade_map_lets_waiting_readers_in_only_after_the_closure() {
    let lock = RwLock::new(Pair {
        name: "n".into(),
        list: vec![],
    });
    let writer = lock.try_write().unwrap();
    let mut reader = Task::new(lock.read());
    reader.pending();
    let name = RwLockWriteGuard::downgrade_map(writer, |p| {
        // The write permits are still all held while `f` runs.
        assert!(reader.poll().is_pending());
        &p.name
    });
    assert!(reader.woken());
    let other = reader.ready();
    assert_eq!(*name, "n");
    assert_eq!(other.name, "n");
    // Two readers, no writer.
    assert!(lock.try_write().is_err());
    drop((name, other));
    assert!(lock.try_write().is_ok());
}

#[test]
fn try_downgrade_map_keeps_the_write_lock_on_none() {
    let lock = RwLock::new(vec![3u32]);
    let writer = lock.try_write().unwrap();
    let mut reader = Task::new(lock.read());
    reader.pending();
    let writer = RwLockWriteGuard::try_downgrade_map(writer, |v| v.get(9)).expect_err("none");
    assert!(!reader.woken(), "a failed downgrade released nothing");
    reader.pending();
    let first = RwLockWriteGuard::try_downgrade_map(writer, |v| v.first()).expect("some");
    assert_eq!(*reader.ready(), [3]);
    assert_eq!(*first, 3);
}

#[test]
fn a_panicking_map_closure_releases_the_lock() {
    let lock = RwLock::new(0u32);
    let r = catch_unwind(AssertUnwindSafe(|| {
        RwLockWriteGuard::map(lock.try_write().unwrap(), |_| -> &mut u32 {
            panic!("in map")
        })
    }));
    assert!(r.is_err());
    assert!(lock.try_write().is_ok(), "the write permits came back");
    let r = catch_unwind(AssertUnwindSafe(|| {
        RwLockWriteGuard::downgrade_map(lock.try_write().unwrap(), |_| -> &u32 { panic!("in f") })
    }));
    assert!(r.is_err());
    assert!(lock.try_write().is_ok());
    let r = catch_unwind(AssertUnwindSafe(|| {
        RwLockReadGuard::map(lock.try_read().unwrap(), |_| -> &u32 { panic!("in map") })
    }));
    assert!(r.is_err());
    assert!(lock.try_write().is_ok(), "the read permit came back");
    let m = Mutex::new(0u32);
    let r = catch_unwind(AssertUnwindSafe(|| {
        MutexGuard::map(m.try_lock().unwrap(), |_| -> &mut u32 { panic!("in map") })
    }));
    assert!(r.is_err());
    assert!(m.try_lock().is_ok());
}

#[test]
fn owned_read_guard_maps_and_names_its_lock() {
    let lock = Arc::new(RwLock::new(Pair {
        name: "x".into(),
        list: vec![9],
    }));
    let guard = lock.clone().try_read_owned().unwrap();
    let list: OwnedRwLockReadGuard<Pair, Vec<u32>> = OwnedRwLockReadGuard::map(guard, |p| &p.list);
    assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&list), &lock));
    let list = OwnedRwLockReadGuard::try_map(list, |l| l.get(4)).expect_err("none");
    let nine = OwnedRwLockReadGuard::try_map(list, |l| l.first()).expect("some");
    assert_eq!(*nine, 9);
    assert!(lock.try_write().is_err());
    // The guard borrows nothing: it outlives every other handle.
    drop(lock);
    assert_eq!(*nine, 9);
}

#[test]
fn owned_write_guard_maps_downgrades_and_names_its_lock() {
    let lock = Arc::new(RwLock::new(Pair::default()));
    let w = block_on(lock.clone().write_owned());
    assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::rwlock(&w), &lock));
    let mut list: OwnedRwLockMappedWriteGuard<Pair, Vec<u32>> =
        OwnedRwLockWriteGuard::map(w, |p| &mut p.list);
    list.push(1);
    assert!(Arc::ptr_eq(
        OwnedRwLockMappedWriteGuard::rwlock(&list),
        &lock
    ));
    let list = OwnedRwLockMappedWriteGuard::try_map(list, |l| l.get_mut(2)).expect_err("none");
    let mut one = OwnedRwLockMappedWriteGuard::map(list, |l| &mut l[0]);
    *one = 2;
    assert!(lock.try_read().is_err());
    drop(one);

    let w = lock.clone().try_write_owned().unwrap();
    let w = OwnedRwLockWriteGuard::try_map(w, |p| p.list.get_mut(7)).expect_err("none");
    let mut whole = OwnedRwLockWriteGuard::into_mapped(w);
    whole.name.push('z');
    drop(whole);

    let w = lock.clone().try_write_owned().unwrap();
    let mut reader = Task::new(lock.clone().read_owned());
    reader.pending();
    let w = OwnedRwLockWriteGuard::try_downgrade_map(w, |p| p.list.get(5)).expect_err("none");
    reader.pending();
    let name = OwnedRwLockWriteGuard::downgrade_map(w, |p| {
        assert!(reader.poll().is_pending());
        &p.name
    });
    let whole = reader.ready();
    assert_eq!(*name, "z");
    assert_eq!(whole.list, [2]);
    assert!(lock.try_write().is_err());
    drop((name, whole));

    let w = lock.clone().try_write_owned().unwrap();
    let first = OwnedRwLockWriteGuard::try_downgrade_map(w, |p| p.list.first()).expect("some");
    assert_eq!(*first, 2);
    assert!(lock.try_read().is_ok());
    assert!(lock.try_write().is_err());
    drop(first);
    let r = lock.clone().try_write_owned().unwrap().downgrade();
    assert_eq!(r.name, "z");
    assert!(lock.try_write().is_err());
    drop(r);
    assert!(lock.try_write().is_ok());
}

#[test]
fn mapped_guards_move_into_other_threads() {
    let lock = Arc::new(RwLock::new(vec![1u32, 2]));
    let w = OwnedRwLockWriteGuard::map(lock.clone().try_write_owned().unwrap(), |v| &mut v[1]);
    std::thread::spawn(move || {
        let mut w = w;
        *w = 20;
    })
    .join()
    .unwrap();
    let r = OwnedRwLockReadGuard::map(lock.clone().try_read_owned().unwrap(), |v| &v[1]);
    let got = std::thread::spawn(move || *r).join().unwrap();
    assert_eq!(got, 20);
    assert!(lock.try_write().is_ok());
}

#[test]
fn unsized_data_behind_mutex_and_rwlock() {
    // `Arc<Mutex<dyn Fn>>` by unsizing, as tokio allows.
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = calls.clone();
    let f: Arc<Mutex<dyn Fn() + Send>> = Arc::new(Mutex::new(move || {
        c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    block_on(async {
        (f.lock().await)();
        let owned: OwnedMutexGuard<dyn Fn() + Send> = f.clone().lock_owned().await;
        owned();
    });
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);

    let bytes: Box<RwLock<[u8]>> = Box::new(RwLock::new([1u8, 2, 3]));
    {
        let mut w = bytes.try_write().unwrap();
        w[0] = 9;
        let tail = RwLockWriteGuard::map(w, |s| &mut s[1..]);
        assert_eq!(tail.len(), 2);
    }
    let r = bytes.try_read().unwrap();
    assert_eq!(&*r, [9, 2, 3]);
    let s: RwLockReadGuard<'_, [u8]> = RwLockReadGuard::map(r, |s| &s[..1]);
    assert_eq!(&*s, [9]);

    let strs: Arc<RwLock<dyn std::fmt::Debug + Send + Sync>> = Arc::new(RwLock::new("dbg"));
    assert_eq!(format!("{:?}", strs), r#"RwLock { data: "dbg" }"#);
}

#[test]
fn guards_display_and_debug_as_their_data() {
    let lock = RwLock::new(String::from("shown"));
    assert_eq!(lock.try_read().unwrap().to_string(), "shown");
    assert_eq!(format!("{:?}", lock.try_read().unwrap()), r#""shown""#);
    let w = lock.try_write().unwrap();
    assert_eq!(w.to_string(), "shown");
    let m = RwLockWriteGuard::map(w, |s| s.as_mut_str());
    assert_eq!(m.to_string(), "shown");
    assert_eq!(format!("{m:?}"), r#""shown""#);
    drop(m);
    let mutex = Mutex::new(5u8);
    assert_eq!(mutex.try_lock().unwrap().to_string(), "5");
    let mapped = MutexGuard::map(mutex.try_lock().unwrap(), |v| v);
    assert_eq!(format!("{mapped} {mapped:?}"), "5 5");
}

#[test]
fn rwlock_from_value_and_max_readers_messages() {
    let lock = RwLock::from(3);
    assert_eq!(lock.into_inner(), 3);
    let zero = catch_unwind(|| RwLock::with_max_readers((), 0)).unwrap_err();
    let msg = zero.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("a RwLock may not be created with 0 readers"),
        "{msg}"
    );
    let many = catch_unwind(|| RwLock::with_max_readers((), u32::MAX)).unwrap_err();
    let msg = many.downcast_ref::<String>().unwrap();
    assert!(msg.contains("may not be created with more than"), "{msg}");
}
