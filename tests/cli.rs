//! The command line end to end: every subcommand and flag, through `netc::commands::main` (what
//! the binary runs), on files made in a scratch folder. Deterministic transcripts are snapshots
//! (the scratch folder shows as `$DIR`); timings are checked for their structure only.

mod common;

use netc::io::{read_npy, read_npz, write_npy, write_npy_i64};
use netc::tensor::Tensor;
use std::path::PathBuf;

/// A scratch folder holding the networks and arrays of the scenarios.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("netc-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let s = Scratch(dir);
        s.file("one.net", "input x: 3x8x8\noutput x -> conv(4, 3) -> relu -> global_avgpool -> flatten -> dense(3)\n");
        s.file(
            "two.net",
            "input x: 4x6x6\ninput y: 4x6x6\nlet s = add(x, y) -> relu\n\
             output s -> global_avgpool -> flatten -> dense(5) as logits, s\n",
        );
        s.file("map.net", "input x: 3x8x8\noutput x -> conv(2, 3)\n");
        s.tensor("x.npy", &[2, 3, 8, 8], 1);
        s.tensor("a.npy", &[3, 4, 6, 6], 2);
        s.tensor("b.npy", &[3, 4, 6, 6], 3);
        s.tensor("b2.npy", &[2, 4, 6, 6], 4);
        write_npy_i64(s.path("ints.npy"), &[2, 3, 8, 8], &vec![1; 2 * 3 * 64]).unwrap();
        write_npy_i64(s.path("truth.npy"), &[2], &[0, 2]).unwrap();
        write_npy_i64(s.path("truth_short.npy"), &[1], &[0]).unwrap();
        write_npy_i64(s.path("truth_negative.npy"), &[2], &[0, -5]).unwrap();
        s.file("labels.txt", "cat\ndog\nbird\n");
        s.file("labels_short.txt", "cat\n");
        s
    }

    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }

    fn file(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    /// Deterministic values in [-1, 1).
    fn tensor(&self, name: &str, shape: &[usize], seed: u32) {
        let n: usize = shape.iter().product();
        let data =
            (0..n).map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed * 97) % 2000) as f32 / 1000.0 - 1.0);
        write_npy(self.path(name), &Tensor::from_vec(shape, data.collect())).unwrap();
    }

    /// `netc ARGS` where `$DIR` stands for this folder: the exit status and a transcript (standard
    /// error, then standard output) with the folder shown as `$DIR` and run times as `T`.
    fn netc(&self, args: &str) -> (u8, String) {
        let dir = self.0.display().to_string();
        let args: Vec<String> = args.split_whitespace().map(|a| a.replace("$DIR", &dir)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = common::netc(&args);
        let text = format!("$ netc {}\n(exit {code})\n{err}{out}", args.join(" ")).replace(&dir, "$DIR");
        let text: String = text
            .lines()
            .map(|l| match l.find(" back end in ") {
                Some(i) => format!("{} back end in T ms", &l[..i]),
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        (code, text)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs each command and snapshots all their transcripts together, under `name`.
fn transcript(s: &Scratch, name: &str, commands: &[(&str, u8)]) {
    let mut all = String::new();
    for (args, expected) in commands {
        let (code, text) = s.netc(args);
        assert_eq!(code, *expected, "{text}");
        all.push_str(&text);
        all.push_str("\n\n");
    }
    insta::assert_snapshot!(name, all);
}

#[test]
fn run_single_input() {
    let s = Scratch::new("single");
    transcript(
        &s,
        "run_single_input",
        &[
            ("run $DIR/one.net --input $DIR/x.npy", 0),
            ("run $DIR/one.net --input x=$DIR/x.npy --top 1 --seed 3 --threads 1 --backend interp", 0),
            ("run $DIR/one.net --input $DIR/x.npy --labels $DIR/labels.txt --truth $DIR/truth.npy", 0),
            ("run $DIR/one.net --input $DIR/x.npy --top 5 --mean 0.5 --std 0.25", 0),
            ("run $DIR/one.net --input $DIR/x.npy --output $DIR/out.npy", 0),
            ("run $DIR/map.net --input $DIR/x.npy", 0),
            ("run $DIR/one.net --input $DIR/x.npy --dump-ir --top 1", 0),
        ],
    );
    assert_eq!(read_npy(s.path("out.npy")).unwrap().shape, [2, 3]);
}

#[test]
fn run_errors_a_newcomer_meets() {
    let s = Scratch::new("errors");
    transcript(
        &s,
        "run_errors",
        &[
            ("run $DIR/one.net --input $DIR/x.npy --top 0", 2),
            ("run $DIR/one.net --input $DIR/x.npy --truth $DIR/truth_short.npy", 2),
            ("run $DIR/one.net --input $DIR/x.npy --truth $DIR/truth_negative.npy", 2),
            ("run $DIR/one.net --input $DIR/x.npy --labels $DIR/labels_short.txt", 2),
            ("run $DIR/one.net --input $DIR/ints.npy", 1),
            ("run $DIR/map.net --input $DIR/x.npy --truth $DIR/truth.npy", 2),
            ("run $DIR/one.net --input $DIR/missing.npy", 2),
            ("run $DIR/one.net --input y=$DIR/x.npy", 2),
            ("run $DIR/one.net --input $DIR/x.npy --mean 1,2", 2),
            ("run $DIR/one.net --input $DIR/x.npy --output $DIR/no/such/dir/o.npy", 2),
        ],
    );
}

/// A network with two inputs and two outputs runs on both back ends, with the same results.
#[test]
fn run_several_inputs_and_outputs() {
    let s = Scratch::new("multi");
    transcript(
        &s,
        "run_several_inputs_and_outputs",
        &[
            ("run $DIR/two.net --input x=$DIR/a.npy --input y=$DIR/b.npy", 0),
            ("run $DIR/two.net --input x=$DIR/a.npy --input y=$DIR/b.npy --output $DIR/jit.npz", 0),
            ("run $DIR/two.net --input y=$DIR/b.npy --input x=$DIR/a.npy --output $DIR/interp.npz --backend interp", 0),
            (
                "run $DIR/two.net --input x=$DIR/a.npy --input y=$DIR/b.npy --output s=$DIR/s.npy --output logits=$DIR/l.npy",
                0,
            ),
            ("run $DIR/two.net --input $DIR/a.npy", 2),
            ("run $DIR/two.net --input x=$DIR/a.npy", 2),
            ("run $DIR/two.net --input x=$DIR/a.npy --input x=$DIR/b.npy", 2),
            ("run $DIR/two.net --input x=$DIR/a.npy --input z=$DIR/b.npy", 2),
            ("run $DIR/two.net --input x=$DIR/a.npy --input y=$DIR/b2.npy", 1),
            ("run $DIR/two.net --input x=$DIR/a.npy --input y=$DIR/b.npy --output $DIR/o.npy", 2),
            ("run $DIR/two.net --input x=$DIR/a.npy --input y=$DIR/b.npy --output nope=$DIR/o.npy", 2),
        ],
    );
    let (jit, interp) =
        (read_npz(s.path("jit.npz"), 1 << 20).unwrap(), read_npz(s.path("interp.npz"), 1 << 20).unwrap());
    let names: Vec<&str> = jit.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["logits", "s"]);
    for ((_, j), (_, i)) in jit.iter().zip(&interp) {
        assert_eq!(j.shape, i.shape);
        let (j, i) = (j.as_f32().unwrap(), i.as_f32().unwrap());
        let err = j.iter().zip(i).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err < 1e-5, "JIT and interpreter differ by {err}");
    }
    // `s` is relu(a + b): the outputs are the network's, not zeros for a missing input.
    let (a, b) = (read_npy(s.path("a.npy")).unwrap(), read_npy(s.path("b.npy")).unwrap());
    let sum = read_npy(s.path("s.npy")).unwrap();
    let want: Vec<f32> = a.as_f32().unwrap().iter().zip(b.as_f32().unwrap()).map(|(x, y)| (x + y).max(0.0)).collect();
    assert_eq!(sum.as_f32().unwrap(), &want[..]);
}

#[test]
fn check_fmt_and_explain() {
    let s = Scratch::new("check");
    s.file("messy.net", "input x: 3x8x8\noutput x->conv(4,3)->relu\n");
    s.file("bad.net", "input x: 3x8x8\noutput x -> conv(4, 3) -> reul\n");
    transcript(
        &s,
        "check_fmt_and_explain",
        &[
            ("check $DIR/one.net", 0),
            ("check $DIR/one.net --input-shape 3x16x16", 0),
            ("check $DIR/one.net --opt", 0),
            ("check $DIR/bad.net", 1),
            ("check $DIR/two.net --input-shape 4x8x8", 1),
            ("check $DIR/one.net --input-shape 3xx8", 2),
            ("check $DIR/nothing.net", 2),
            ("fmt --check $DIR/messy.net", 1),
            ("fmt $DIR/messy.net", 0),
            ("fmt --check $DIR/messy.net", 0),
            ("explain E0019", 0),
            ("explain E9999", 2),
        ],
    );
    let (code, text) = s.netc("check $DIR/one.net --format json");
    assert_eq!(code, 0, "{text}");
    let json = &text[text.find('{').unwrap()..];
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["ok"], true);
}

/// `netc bench` with every flag: the report's structure (timings vary from run to run).
#[test]
fn bench_every_flag() {
    let s = Scratch::new("bench");
    let (code, text) = s.netc("bench $DIR/one.net --input-shape 3x16x16 --seconds 0.05 --batch 2 --threads 1");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("batch 2, 1 thread(s)") && text.contains("interp") && text.contains("jit"), "{text}");
    let (code, text) = s.netc("bench $DIR/two.net --seconds 0.05 --backend interp --profile");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("add1") && text.contains("logits"), "the profile lists the layers: {text}");
    let (code, text) = s.netc("bench $DIR/one.net --seconds 0 --backend jit --format json");
    assert_eq!(code, 0, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text[text.find(['{', '[']).unwrap()..]).unwrap();
    assert!(v.to_string().contains("jit"), "{v}");
    let (code, text) = s.netc("bench $DIR/one.net --batch 0");
    assert_eq!(code, 2, "{text}");
    s.file("pool.net", "input x: 3x8x8\noutput x -> maxpool(4)\n");
    let (code, text) = s.netc("bench $DIR/pool.net --input-shape 3x2x2 --seconds 0");
    assert_eq!(code, 1, "a map too small for the window is E0009: {text}");
}

/// `--max-memory`: a network whose weights (8.6 GiB here) or whose batch does not fit the limit
/// is E0013 before anything is allocated, on `run` and `bench`; the limit takes K/M/G/T sizes.
#[test]
fn memory_limit() {
    let s = Scratch::new("memory");
    s.file("big.net", "input x: 3x8x8\noutput x -> flatten -> dense(100000) -> relu -> dense(20000)\n");
    transcript(
        &s,
        "memory_limit",
        &[
            ("run $DIR/big.net --input $DIR/x.npy --max-memory 1G", 1),
            ("bench $DIR/big.net --max-memory 2048M --seconds 0", 1),
            ("run $DIR/one.net --input $DIR/x.npy --max-memory 3K --top 1", 1),
            ("run $DIR/one.net --input $DIR/x.npy --max-memory 64KiB --top 1", 0),
            ("run $DIR/one.net --input $DIR/x.npy --max-memory 12x", 2),
        ],
    );
}

/// `netc bench --profile` times each layer where it runs: every convolution, the fused shortcut
/// included, gets its own time (a profile from differences of whole-network times once gave a
/// fused shortcut 0 ms and its neighbour more than the machine's peak), and the layers' times
/// add up to no more than a run's.
#[test]
fn bench_profile_times_every_layer() {
    let s = Scratch::new("profile");
    s.file(
        "res.net",
        "input x: 8x16x16\noutput x -> residual { conv(8, 3, stride = 2) -> relu -> conv(8, 3) } \
         shortcut { conv(8, 1, stride = 2) } -> relu -> global_avgpool -> flatten -> dense(4)\n",
    );
    for backend in ["jit", "interp"] {
        let (code, text) =
            s.netc(&format!("bench $DIR/res.net --backend {backend} --profile --format json --seconds 0.2"));
        assert_eq!(code, 0, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text[text.find('{').unwrap()..]).unwrap();
        let rows = v["profile"].as_array().unwrap();
        let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
        assert!(paths.contains(&"shortcut1.conv1"), "{paths:?}");
        for r in rows.iter().filter(|r| r["op"].as_str().unwrap().starts_with("conv")) {
            assert!(r["ms"].as_f64().unwrap() > 0.0, "{backend}: a convolution without a time: {r}");
        }
        let layers: f64 = rows.iter().map(|r| r["ms"].as_f64().unwrap()).sum();
        let p90 = v["results"][0]["latency_ms_p90"].as_f64().unwrap();
        assert!(layers > 0.0 && layers.is_finite(), "{backend}: {layers}");
        assert!(v["results"][0]["runs"].as_u64().unwrap() >= 1 && p90 > 0.0);
    }
}
