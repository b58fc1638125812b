use super::*;
use crate::decode::Decoder;

fn run(text: &str) -> (Vec<Egress>, Global) {
    let mut d = Decoder::new();
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let o = Origin {
            source: 0,
            line: n as u64 + 1,
        };
        d.push(line.as_bytes(), o, false, &mut |e| events.push(e));
    }
    d.finish(&mut |e| events.push(e));
    let mut c = Correlator::new(&NoMarks);
    let mut out = Vec::new();
    for ev in events {
        c.push(&ev, &mut |e| out.push(e));
    }
    c.finish(&mut |e| out.push(e));
    (out, c.global.clone())
}

#[test]
fn lifecycle_of_one_egress() {
    let (eg, g) = run(concat!(
        "2025-08-21T10:15:32.123Z\tINFO\tegress\tserver/server_rpc.go:66\trequest received\t{\"nodeID\": \"NE_8vQm3KpXz2Lr\", \"clusterID\": \"\", \"egressID\": \"EG_Rj7Yh2WbN5cT\"}\n",
        "2025-08-21T10:15:32.130Z\tINFO\tegress\tserver/server_rpc.go:76\trequest validated\t{\"nodeID\": \"NE_8vQm3KpXz2Lr\", \"egressID\": \"EG_Rj7Yh2WbN5cT\", \"requestType\": \"room_composite\", \"outputType\": \"file\", \"room\": \"my-room\"}\n",
        "2025-08-21T10:15:34.000Z\tINFO\tegress\tsource/web.go:324\tchrome: START_RECORDING\t{\"nodeID\": \"NE_8vQm3KpXz2Lr\", \"handlerID\": \"EGH_4TfG9sWq2Hbn\", \"egressID\": \"EG_Rj7Yh2WbN5cT\"}\n",
        "2025-08-21T10:15:34.500Z\tINFO\tegress\tpipeline/watch.go:275\tpipeline playing\t{\"nodeID\": \"NE_8vQm3KpXz2Lr\", \"handlerID\": \"EGH_4TfG9sWq2Hbn\", \"egressID\": \"EG_Rj7Yh2WbN5cT\"}\n",
        "2025-08-21T10:15:34.600Z\tINFO\tegress\tinfo/io.go:268\tegress_active\t{\"nodeID\": \"NE_8vQm3KpXz2Lr\", \"egressID\": \"EG_Rj7Yh2WbN5cT\", \"error\": \"\", \"code\": 0}\n",
        "2025-08-21T10:16:38.020Z\tINFO\tegress\tinfo/io.go:268\tegress_complete\t{\"nodeID\": \"NE_8vQm3KpXz2Lr\", \"egressID\": \"EG_Rj7Yh2WbN5cT\", \"requestType\": \"room_composite\", \"outputType\": \"file\", \"error\": \"\", \"code\": 0, \"details\": \"End reason: StopEgress API\"}\n",
        "2025-08-21T10:16:38.100Z\tINFO\tegress\tserver/server_rpc.go:192\tegress metrics\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\", \"avgCPU\": 1.2}\n",
    ));
    assert_eq!(eg.len(), 1);
    let e = &eg[0];
    assert_eq!(e.id.as_deref(), Some("EG_Rj7Yh2WbN5cT"));
    assert_eq!(e.status, Status::Complete);
    assert_eq!(e.room.as_deref(), Some("my-room"));
    assert_eq!(e.request_type.as_deref(), Some("room_composite"));
    assert_eq!(e.node_id.as_deref(), Some("NE_8vQm3KpXz2Lr"));
    assert_eq!(e.handler_id.as_deref(), Some("EGH_4TfG9sWq2Hbn"));
    assert!(e.t.start_signal.is_some() && e.t.playing.is_some() && e.t.active.is_some());
    assert_eq!(e.lines, 7, "late metrics line joins the ended egress");
    assert_eq!(e.details.as_deref(), Some("End reason: StopEgress API"));
    assert!(!e.open_at_end);
    assert_eq!(g.egresses, 1);
    assert_eq!(g.handler_lines, 2);
}

#[test]
fn anonymous_egress_from_paste() {
    let (eg, _) = run(
        "2026-01-27T11:11:05.179Z INFO egress request validated  \"room\": \"test-local-recording\"\n2026-01-27T11:11:39.782Z INFO egress_aborted \"error\": \"Start signal not received\" \"code\": 412 \"details\": \"End reason: StopEgress API\"\n",
    );
    assert_eq!(eg.len(), 1);
    let e = &eg[0];
    assert_eq!(e.id, None);
    assert_eq!(e.status, Status::Aborted);
    assert_eq!(e.code, Some(412));
    assert_eq!(e.room.as_deref(), Some("test-local-recording"));
    let waited = e.between("validated", "ended").unwrap();
    assert!((waited - 34.603).abs() < 0.01);
}

#[test]
fn interleaved_egresses_and_node_facts() {
    let mut text = String::new();
    for i in 0..50 {
        text.push_str(&format!(
            "{{\"level\":\"info\",\"ts\":{}.0,\"msg\":\"request received\",\"egressID\":\"EG_{:012}\"}}\n",
            1_700_000_000 + i,
            i
        ));
    }
    text.push_str(
        "{\"level\":\"warn\",\"ts\":1700000100.0,\"msg\":\"high cpu usage\",\"cpu\":7.9}\n",
    );
    for i in 0..50 {
        let status = if i % 2 == 0 {
            "egress_complete"
        } else {
            "egress_failed"
        };
        text.push_str(&format!(
            "{{\"level\":\"info\",\"ts\":{}.0,\"msg\":\"{status}\",\"egressID\":\"EG_{:012}\",\"error\":\"x\",\"code\":500}}\n",
            1_700_000_200 + i,
            i
        ));
    }
    let (eg, g) = run(&text);
    assert_eq!(eg.len(), 50);
    assert_eq!(eg.iter().filter(|e| e.status == Status::Failed).count(), 25);
    assert_eq!(g.problems.len(), 1);
    assert!(g.peak_open <= 50);
}

#[test]
fn dump_sets_status() {
    let (eg, _) = run("egress_id: \"EG_Rj7Yh2WbN5cT\"\nstatus: EGRESS_ABORTED\nerror: \"Start signal not received\"\nerror_code: 412\n");
    assert_eq!(eg.len(), 1);
    assert_eq!(eg[0].status, Status::Aborted);
    assert_eq!(eg[0].code, Some(412));
}

#[test]
fn open_at_end() {
    let (eg, _) = run("{\"level\":\"info\",\"ts\":1.0,\"msg\":\"request validated\",\"egressID\":\"EG_Rj7Yh2WbN5cT\"}\n");
    assert!(eg[0].open_at_end);
    assert_eq!(eg[0].status, Status::Starting);
}

#[test]
fn go_durations_are_read() {
    for (text, secs) in [
        ("12.04s", 12.04),
        ("0.2ms", 0.0002),
        ("850µs", 0.00085),
        ("1m2.5s", 62.5),
        ("1h0m3s", 3603.0),
        ("5.001234567s", 5.001234567),
        ("12.04", 12.04),
    ] {
        let got = super::go_duration_secs(text).expect(text);
        assert!((got - secs).abs() < 1e-9, "{text}: {got}");
    }
    for bad in ["", "s", "12 s", "twelve", "inf"] {
        assert_eq!(super::go_duration_secs(bad), None, "{bad}");
    }
}
