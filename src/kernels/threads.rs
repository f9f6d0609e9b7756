//! A small persistent thread pool for data-parallel kernels.
//!
//! Spawning threads per layer costs tens of microseconds, too much for a batch-1 network that runs
//! in a few milliseconds, so worker threads are started once and then wait for work: first by
//! spinning briefly (consecutive layers follow each other within microseconds), then by sleeping
//! on a condition variable. The pool is global; a call made while another is in progress (from a
//! second test thread, or from inside a task) runs its tasks on the calling thread instead of
//! waiting, so there is no deadlock and no nesting. A worker that has not picked its job up by the
//! time the caller has run out of tasks (on a busy machine it may not have been scheduled yet) is
//! not waited for: the caller takes the job back.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, TryLockError};
use std::time::{Duration, Instant};

/// How long an idle worker spins before it sleeps.
const SPIN: Duration = Duration::from_micros(300);

/// One parallel call: the tasks `0..count`, split into one contiguous range per participant
/// (the caller is participant 0, worker `k` participant `k + 1`). Each participant runs its own
/// range first, so that a layer's task `i` runs on the same thread run after run and finds its
/// weights in that core's caches; then it helps with the others' remaining tasks, so a thread
/// that was descheduled or started late does not hold the call up.
struct Job<'f> {
    task: &'f (dyn Fn(usize) + Sync),
    /// Per participant: the next unclaimed task of its range, and the range's end.
    ranges: Vec<(AtomicUsize, usize)>,
    /// Workers that may still touch this job: posted to and neither finished nor taken back.
    pending: AtomicUsize,
    panicked: AtomicBool,
}

impl Job<'_> {
    fn new(task: &(dyn Fn(usize) + Sync), count: usize, participants: usize) -> Job<'_> {
        let bound = |p: usize| p * count / participants;
        Job {
            task,
            ranges: (0..participants).map(|p| (AtomicUsize::new(bound(p)), bound(p + 1))).collect(),
            pending: AtomicUsize::new(participants - 1),
            panicked: AtomicBool::new(false),
        }
    }

    /// Runs the tasks of participant `me`'s range, then any left in the others'.
    fn work(&self, me: usize) {
        let n = self.ranges.len();
        for p in (0..n).map(|k| (me + k) % n) {
            let (next, end) = &self.ranges[p];
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= *end {
                    break;
                }
                if catch_unwind(AssertUnwindSafe(|| (self.task)(i))).is_err() {
                    self.panicked.store(true, Ordering::Relaxed);
                }
            }
        }
    }
}

/// Where the caller posts a job for one worker.
#[derive(Default)]
struct Slot {
    /// The posted job (lifetime erased), or null.
    job: AtomicPtr<Job<'static>>,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Slot {
    /// Waits for a job and claims it (a job the poster took back meanwhile is not returned).
    fn wait_for_job(&self) -> *const Job<'static> {
        loop {
            let job = self.wait_for_post();
            if self.job.compare_exchange(job, std::ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return job;
            }
        }
    }

    fn wait_for_post(&self) -> *mut Job<'static> {
        let start = Instant::now();
        loop {
            let job = self.job.load(Ordering::Acquire);
            if !job.is_null() {
                return job;
            }
            if start.elapsed() > SPIN {
                break;
            }
            std::hint::spin_loop();
        }
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let job = self.job.load(Ordering::Acquire);
            if !job.is_null() {
                return job;
            }
            guard = self.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Takes back `job` if the worker has not claimed it yet.
    fn retract(&self, job: *const Job<'static>) -> bool {
        self.job.compare_exchange(job.cast_mut(), std::ptr::null_mut(), Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }

    fn post(&self, job: *const Job<'static>) {
        self.job.store(job.cast_mut(), Ordering::Release);
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_one();
    }
}

fn worker(slot: Arc<Slot>, participant: usize) {
    loop {
        let job = slot.wait_for_job();
        // SAFETY: the job was claimed, so the poster keeps it alive until `pending` reaches zero,
        // which happens only after this worker's last access below.
        let job = unsafe { &*job };
        job.work(participant);
        job.pending.fetch_sub(1, Ordering::Release);
    }
}

/// The global pool: the workers' slots, guarded so that one caller at a time uses them.
fn slots() -> &'static Mutex<Vec<Arc<Slot>>> {
    static SLOTS: OnceLock<Mutex<Vec<Arc<Slot>>>> = OnceLock::new();
    SLOTS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Runs `task(i)` for every `i` in `0..count` on up to `threads` threads (the caller included),
/// returning when all are done. Each thread starts with its own contiguous share of the tasks
/// (the same share every call with the same count) and then helps with the rest, so uneven tasks
/// and late threads still balance.
/// A panic in any task is re-raised here once all tasks have finished.
pub fn parallel_for(threads: usize, count: usize, task: &(dyn Fn(usize) + Sync)) {
    let helpers = threads.min(count).saturating_sub(1);
    let serial = || (0..count).for_each(task);
    if helpers == 0 {
        return serial();
    }
    let mut slots = match slots().try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::WouldBlock) => return serial(),
        Err(TryLockError::Poisoned(e)) => e.into_inner(),
    };
    while slots.len() < helpers {
        let slot = Arc::new(Slot::default());
        let for_worker = Arc::clone(&slot);
        let participant = slots.len() + 1;
        std::thread::Builder::new()
            .name(format!("netc-kernel-{}", slots.len()))
            .spawn(move || worker(for_worker, participant))
            .expect("cannot spawn a kernel worker thread");
        slots.push(slot);
    }
    let job = Job::new(task, count, helpers + 1);
    let erased = (&raw const job).cast::<Job<'static>>();
    for slot in &slots[..helpers] {
        slot.post(erased);
    }
    job.work(0);
    for slot in &slots[..helpers] {
        if slot.retract(erased) {
            job.pending.fetch_sub(1, Ordering::Relaxed);
        }
    }
    let mut spins = 0u32;
    while job.pending.load(Ordering::Acquire) != 0 {
        spins += 1;
        if spins < 1 << 16 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    drop(slots);
    assert!(!job.panicked.load(Ordering::Relaxed), "a parallel kernel task panicked");
}

/// A raw pointer that tasks may share; each task writes a disjoint region through it.
#[derive(Clone, Copy)]
pub(crate) struct SyncPtr(pub(crate) *mut f32);

// SAFETY: users guarantee that concurrent tasks write disjoint elements.
unsafe impl Send for SyncPtr {}
// SAFETY: as above.
unsafe impl Sync for SyncPtr {}

impl SyncPtr {
    /// The pointer (a method, so closures capture the whole `Sync` wrapper).
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }
}
