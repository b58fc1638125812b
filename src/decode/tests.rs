use super::*;

fn decode_all(text: &str) -> (Vec<Event>, Stats) {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let origin = Origin {
            source: 0,
            line: n as u64 + 1,
        };
        d.push(line.as_bytes(), origin, false, &mut |e| out.push(e));
    }
    d.finish(&mut |e| out.push(e));
    (out, d.stats)
}

#[test]
fn zap_json_with_duplicate_keys() {
    let (evs, st) = decode_all(
        r#"{"level":"info","ts":1755771398.02,"logger":"egress","caller":"info/io.go:268","msg":"egress_aborted","egressID":"EG_Rj7Yh2WbN5cT","egressID":"EG_Rj7Yh2WbN5cT","error":"Start signal not received","code":412}"#,
    );
    assert_eq!(evs.len(), 1);
    let e = &evs[0];
    assert_eq!(e.format, Some(Format::Json));
    assert_eq!(e.level, Some(Level::Info));
    assert_eq!(e.message, "egress_aborted");
    assert_eq!(e.logger.as_deref(), Some("egress"));
    assert_eq!(e.caller.as_deref(), Some("info/io.go:268"));
    assert_eq!(e.field_i64("code"), Some(412));
    assert_eq!(
        e.ts.map(|t| t.iso()).as_deref(),
        Some("2025-08-21T10:16:38.020Z")
    );
    assert_eq!(st.formats[Format::Json.index()], 1);
}

#[test]
fn console_with_tabs() {
    let (evs, _) = decode_all(
        "2025-08-21T10:15:32.130Z\tINFO\tegress\tserver/server_rpc.go:76\trequest validated\t{\"nodeID\": \"NE_8vQm3KpXz2Lr\", \"egressID\": \"EG_Rj7Yh2WbN5cT\", \"requestType\": \"room_composite\", \"room\": \"my-room\", \"request\": {\"RoomComposite\":{\"room_name\":\"my-room\"}}}",
    );
    let e = &evs[0];
    assert_eq!(e.format, Some(Format::Console));
    assert_eq!(e.message, "request validated");
    assert_eq!(e.caller.as_deref(), Some("server/server_rpc.go:76"));
    assert_eq!(e.field_str("room").as_deref(), Some("my-room"));
}

#[test]
fn console_with_spaces_and_stack() {
    let (evs, st) = decode_all(
        "2023-05-09T18:08:29.038Z ERROR livekit service/ioinfo.go:83 egress failed {\"egressID\": \"EG_UcQJNTSqgxHT\", \"error\": \"could not establish signal connection\"}\ngithub.com/livekit/livekit-server/pkg/service.(*IOInfoService).UpdateEgressInfo\n /workspace/pkg/service/ioinfo.go:83",
    );
    assert_eq!(evs.len(), 1);
    let e = &evs[0];
    assert_eq!(e.logger.as_deref(), Some("livekit"));
    assert_eq!(e.message, "egress failed");
    assert_eq!(e.level, Some(Level::Error));
    assert_eq!(e.continuation_lines, 2);
    assert!(e.raw.ends_with("\n /workspace/pkg/service/ioinfo.go:83"));
    assert_eq!(st.continuation, 2);
}

#[test]
fn gstreamer_line_without_caller() {
    let (evs, _) = decode_all(
        "2025-08-21T10:16:01.001Z\tINFO\tegress\t[GST_ERROR_SYSTEM warning] posting message: No space left on the resource.\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\", \"caller\": \"gstelement.c:2254\"}",
    );
    let e = &evs[0];
    assert_eq!(e.caller, None);
    assert!(e.message.starts_with("[GST_ERROR_SYSTEM warning]"));
    assert_eq!(e.field_str("caller").as_deref(), Some("gstelement.c:2254"));
}

#[test]
fn origin_paste() {
    let (evs, st) = decode_all(
        "2026-01-27T11:11:05.179Z INFO egress request validated  \"room\": \"test-local-recording\" \"filepath\": \"/recordings/x.mp4\"\n2026-01-27T11:11:39.782Z INFO egress_aborted \"error\": \"Start signal not received\" \"code\": 412 \"details\": \"End reason: StopEgress API\"\n",
    );
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0].message, "request validated");
    assert_eq!(evs[0].logger.as_deref(), Some("egress"));
    assert_eq!(
        evs[0].field_str("room").as_deref(),
        Some("test-local-recording")
    );
    assert_eq!(evs[1].message, "egress_aborted");
    assert_eq!(evs[1].logger, None);
    assert_eq!(evs[1].field_i64("code"), Some(412));
    assert_eq!(evs[1].format, Some(Format::Pasted));
    assert_eq!(st.blank, 1);
}

#[test]
fn wrapped_json_is_joined() {
    let (evs, _) = decode_all(
        "{\"level\":\"info\",\"ts\":1755771398.02,\"msg\":\"egress_aborted\",\"error\":\"Start signal\n not received\",\"code\":412}\nnext line",
    );
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0].message, "egress_aborted");
    assert_eq!(evs[0].field_i64("code"), Some(412));
    assert_eq!(evs[1].message, "next line");
}

#[test]
fn unclosed_json_does_not_swallow_next_entry() {
    let (evs, _) = decode_all(
        "{\"level\":\"info\",\"msg\":\"cut\n2025-08-21T10:15:32.123Z\tINFO\tegress\tserver/server_rpc.go:66\trequest received\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\"}",
    );
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[1].message, "request received");
}

#[test]
fn prefixes_are_stripped() {
    let (evs, _) = decode_all(
        "egress-1  | 2025-08-21T10:15:32.123Z\tINFO\tegress\tserver/server_rpc.go:66\trequest received\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\"}\n[pod/egress-0/egress] missing config\n2026-01-27T11:11:05.179123456Z {\"level\":\"warn\",\"msg\":\"high cpu usage\"}",
    );
    assert_eq!(evs[0].container.as_deref(), Some("egress-1"));
    assert_eq!(evs[0].message, "request received");
    assert_eq!(evs[1].container.as_deref(), Some("pod/egress-0/egress"));
    assert_eq!(evs[1].message, "missing config");
    assert_eq!(evs[2].message, "high cpu usage");
    assert_eq!(evs[2].level, Some(Level::Warn));
    assert!(evs[2].ts.is_some());
}

#[test]
fn proto_text_dump() {
    let (evs, _) = decode_all(
        "egress_id: \"EG_Rj7Yh2WbN5cT\"\nroom_name: \"my-room\"\nstatus: EGRESS_ABORTED\nerror: \"Start signal not received\"\nerror_code: 412\n",
    );
    assert_eq!(evs.len(), 1);
    let e = &evs[0];
    assert_eq!(e.format, Some(Format::Dump));
    assert_eq!(e.field_str("status").as_deref(), Some("EGRESS_ABORTED"));
    assert_eq!(e.field_i64("code"), Some(412));
    assert_eq!(e.field_str("room").as_deref(), Some("my-room"));
}

#[test]
fn plain_lines_and_bad_bytes() {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    d.push(b"missing config", Origin::default(), false, &mut |e| {
        out.push(e)
    });
    d.push(b"\xff\xfe\x00bin", Origin::default(), true, &mut |e| {
        out.push(e)
    });
    d.finish(&mut |e| out.push(e));
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].message, "missing config");
    assert_eq!(out[0].format, Some(Format::Raw));
    assert_eq!(d.stats.invalid_utf8, 1);
    assert_eq!(d.stats.binary, 1);
    assert_eq!(d.stats.truncated, 1);
}

#[test]
fn panic_dump_is_one_entry() {
    let (evs, _) = decode_all(
        "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x0]\n\ngoroutine 1 [running]:\ngithub.com/livekit/psrpc/internal/bus.NewRedisMessageBus(...)\n\t/go/pkg/mod/github.com/livekit/psrpc/internal/bus/bus_redis.go:61",
    );
    assert_eq!(evs.len(), 2, "{evs:#?}");
    assert_eq!(evs[0].level, Some(Level::Fatal));
    assert!(evs[1].raw.contains("bus_redis.go:61"));
}
