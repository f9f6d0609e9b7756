//! `netc run` on bad inputs: malformed .npy/.npz/.safetensors files, weights that do not fit
//! the network, and input arrays of the wrong shape all give a clear message and exit 1 or 2.

use netc::io::{write_npy, write_safetensors};
use netc::tensor::Tensor;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

const NET: &str = "input x: 3x8x8\noutput x -> conv(4, 3) as stem -> relu -> global_avgpool -> dense(2) as head\n";

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("netc-run-cli-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("net.net"), NET).unwrap();
        write_npy(dir.join("x.npy"), &Tensor::zeros(&[2, 3, 8, 8])).unwrap();
        Scratch(dir)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }

    /// `netc run net.net --input INPUT [--weights WEIGHTS]` on files of this folder.
    fn run(&self, input: &str, weights: Option<&str>) -> (i32, String) {
        let mut args = vec![self.path("net.net"), "--input".into(), self.path(input)];
        if let Some(w) = weights {
            args.extend(["--weights".into(), self.path(w)]);
        }
        netc(&args)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn netc(args: &[PathBuf]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netc")).arg("run").args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("panicked"), "{text}");
    (out.status.code().unwrap_or(-1), text)
}

fn good_weights() -> Vec<(String, Tensor)> {
    vec![
        ("stem.weight".into(), Tensor::zeros(&[4, 3, 3, 3])),
        ("stem.bias".into(), Tensor::zeros(&[4])),
        ("head.weight".into(), Tensor::zeros(&[2, 4])),
        ("head.bias".into(), Tensor::zeros(&[2])),
    ]
}

#[test]
fn runs_with_good_weights() {
    let s = Scratch::new("good");
    write_safetensors(s.path("w.safetensors"), &good_weights(), &BTreeMap::new()).unwrap();
    let (code, text) = s.run("x.npy", Some("w.safetensors"));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("class 0"), "{text}");
}

#[test]
fn weight_mismatches_are_one_diagnostic_listing_each() {
    let s = Scratch::new("mismatch");
    let mut w = good_weights();
    w[0].1 = Tensor::zeros(&[4, 1, 3, 3]); // wrong shape
    w.remove(3); // head.bias missing
    w.push(("tail.weight".into(), Tensor::zeros(&[3]))); // unexpected
    write_safetensors(s.path("w.safetensors"), &w, &BTreeMap::new()).unwrap();
    let (code, text) = s.run("x.npy", Some("w.safetensors"));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("error[E0018]"), "{text}");
    assert!(text.contains("1 missing, 1 unexpected, 1 with the wrong shape"), "{text}");
    assert!(text.contains("head.bias [2]"), "{text}");
    assert!(text.contains("stem.weight: file has [4, 1, 3, 3], the layer needs [4, 3, 3, 3]"), "{text}");
    assert!(text.contains("tail.weight [3]"), "{text}");
}

#[test]
fn malformed_files_are_clear_errors() {
    let s = Scratch::new("malformed");
    let cases: [(&str, &[u8]); 4] = [
        ("bad.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4',"),
        ("bad.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage"),
        ("bad.npz", b"PK\x03\x04 this is not a zip"),
        ("bad.pt", b"whatever"),
    ];
    for (name, bytes) in cases {
        std::fs::write(s.path(name), bytes).unwrap();
        let (code, text) = if name.ends_with(".npy") { s.run(name, None) } else { s.run("x.npy", Some(name)) };
        assert_eq!(code, 2, "{name}: {text}");
        assert!(text.contains("error:") && text.contains(name), "{name}: {text}");
    }
}

#[test]
fn input_of_the_wrong_shape_is_e0019() {
    let s = Scratch::new("input");
    write_npy(s.path("nhwc.npy"), &Tensor::zeros(&[2, 8, 8, 3])).unwrap();
    let (code, text) = s.run("nhwc.npy", None);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("error[E0019]") && text.contains("channels-last"), "{text}");
}

#[test]
fn a_weights_file_far_larger_than_the_network_is_refused_unread() {
    let s = Scratch::new("huge");
    let mut w = good_weights();
    w.push(("extra.weight".into(), Tensor::zeros(&[1 << 19]))); // 2 MiB: more than the network could hold
    write_safetensors(s.path("w.safetensors"), &w, &BTreeMap::new()).unwrap();
    let (code, text) = s.run("x.npy", Some("w.safetensors"));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("is not a weights file for it"), "{text}");
}
