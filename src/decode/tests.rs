use super::*;
use crate::event::{Event, FieldValue, Format, Level, Origin, Text};
use entry::{decode_entry_keep, decode_peeked};
use intern::{intern, intern_owned, MAX_INTERNED_LEN};
use keep::KeepFields;

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
    // The blank line Go prints before the goroutine's stack does not end the entry.
    assert_eq!(evs.len(), 1, "{evs:#?}");
    assert_eq!(evs[0].level, Some(Level::Fatal));
    assert!(evs[0].raw.contains("bus_redis.go:61"));
    // A blank line followed by a new entry still ends it.
    let (evs, _) = decode_all(
        "panic: boom

2024-01-01T00:00:00Z INFO egress x {}",
    );
    assert_eq!(evs.len(), 2);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn decode_bytes(data: &[u8]) -> (Vec<Event>, Stats) {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        let mut r = crate::source::LineReader::from_bytes(data.to_vec());
        while let Ok(Some(l)) = r.next_line() {
            let o = Origin {
                source: 0,
                line: l.number,
            };
            d.push(l.bytes, o, l.truncated, &mut |e| out.push(e));
        }
        d.finish(&mut |e| out.push(e));
        (out, d.stats)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_bytes_decode_without_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let (events, stats) = decode_bytes(&data);
            let lines = data.split(|b| *b == b'\n').count() as u64
                - u64::from(data.last() == Some(&b'\n') || data.is_empty());
            prop_assert_eq!(stats.lines, lines);
            let entries: u64 = stats.formats.iter().sum();
            prop_assert_eq!(entries, events.len() as u64);
            prop_assert!(entries + stats.continuation + stats.blank <= stats.lines);
        }

        #[test]
        fn log_like_text_decodes_without_panic(lines in proptest::collection::vec(
            prop_oneof![
                "\\{\"level\":\"(info|error)\",\"ts\":[0-9]{1,10}(\\.[0-9]{1,4})?,\"msg\":\"[a-z _:]{0,20}\"[,}\\]\"a-z:0-9]{0,30}",
                "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z[\t ]+(INFO|ERROR|WARN|DEBUG)[\t ]+[a-z.]{0,10}[\t ]+[a-z/_]{0,8}\\.go:[0-9]{1,3}[\t ]+[a-z _]{0,20}[\t ]*\\{?[\"a-zA-Z0-9_:, ]{0,40}\\}?",
                "[a-z-]{1,10} +\\| .{0,60}",
                "\\[pod/[a-z0-9-]{1,8}/[a-z]{1,6}\\] .{0,40}",
                "[ \t]+/[a-z/]{1,20}\\.go:[0-9]{1,4}",
                "(egress_id|status|error|error_code): .{0,30}",
                ".{0,80}",
            ],
            0..40,
        )) {
            let text = lines.join("\n");
            let (_, stats) = decode_bytes(text.as_bytes());
            prop_assert!(stats.lines <= lines.len().max(1) as u64);
        }

        #[test]
        fn console_and_json_agree(msg in "[a-z][a-z _]{0,30}[a-z]", room in "[a-zA-Z0-9 _|#<>`-]{0,20}", code in 0i64..1000) {
            let fields = serde_json::json!({"egressID": "EG_Rj7Yh2WbN5cT", "room": room, "code": code});
            let console = format!(
                "2025-08-21T10:15:32.123Z\tINFO\tegress\tinfo/io.go:268\t{msg}\t{}",
                serde_json::to_string(&fields).unwrap_or_default().replace("\":", "\": ").replace(",\"", ", \"")
            );
            let mut obj = serde_json::json!({"level": "info", "ts": 1755771332.123, "logger": "egress", "caller": "info/io.go:268", "msg": msg});
            if let (Some(o), Some(f)) = (obj.as_object_mut(), fields.as_object()) {
                o.extend(f.clone());
            }
            let json = serde_json::to_string(&obj).unwrap_or_default();
            let (a, _) = decode_bytes(console.as_bytes());
            let (b, _) = decode_bytes(json.as_bytes());
            prop_assert_eq!(a.len(), 1);
            prop_assert_eq!(b.len(), 1);
            prop_assert_eq!(&a[0].message, &msg.trim().to_string());
            prop_assert_eq!(&b[0].message, &msg);
            prop_assert_eq!(a[0].field_str("room"), Some(room.clone()));
            prop_assert_eq!(b[0].field_str("room"), Some(room));
            prop_assert_eq!(a[0].field_i64("code"), Some(code));
            prop_assert_eq!(a[0].ts, b[0].ts);
        }
    }
}

#[test]
fn peek_reads_heads_without_fields() {
    let p = peek("2025-08-21T10:15:32.123Z\tINFO\tegress\tserver/server_rpc.go:66\trequest received\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\"}").expect("console");
    assert_eq!(p.message, "request received");
    assert_eq!(p.level, Some(Level::Info));
    assert!(p.fields.contains("egressID"));
    let p =
        peek("2025-08-21T10:16:01.001Z\tINFO\tegress\t[GST warning] x: y\t{\"caller\": \"a.c:1\"}")
            .expect("gst");
    assert_eq!(p.message, "[GST warning] x: y");
    let p = peek("{\"level\":\"debug\",\"ts\":1.5,\"msg\":\"cpu check\",\"x\":1}").expect("json");
    assert_eq!(p.message, "cpu check");
    assert_eq!(p.level, Some(Level::Debug));
    assert!(peek("{\"level\":\"info\",\"msg\":\"a\\\"b\"}").is_none());
    assert!(peek("2026-01-27T11:11:05.179Z INFO egress request validated").is_none());
    assert!(peek("missing config").is_none());
}

#[test]
fn triage_turns_lines_down_but_not_those_continued() {
    /// Needed: messages with "keep", and what the definition always keeps.
    struct OnlyKeep;
    impl Relevance for OnlyKeep {
        fn relevant(&mut self, p: &Peek<'_>) -> Verdict {
            if p.message.contains("keep") {
                Verdict::Needed
            } else {
                Verdict::Skip
            }
        }
        fn needed(&mut self, ev: &Event) -> bool {
            ev.message.contains("keep")
                || ev.continuation_lines > 0
                || ev.format == Some(Format::Raw)
        }
    }
    let push_all = |d: &mut Decoder, text: &str| {
        let mut out = Vec::new();
        for (n, l) in text.lines().enumerate() {
            let o = Origin {
                source: 0,
                line: n as u64 + 1,
            };
            d.push(l.as_bytes(), o, false, &mut |e| out.push(e));
        }
        d.finish(&mut |e| out.push(e));
        out
    };
    // A turned-down line with stack frames (a bare Go symbol after a file line among them) is
    // decoded in full with them, as the plain path decodes it; a turned-down line alone is
    // counted, with its handler noted.
    let text = "2025-08-21T10:15:32.123Z\tINFO\tegress\ta/b.go:1\tdrop me\t{\"handlerID\": \"EGH_x\", \"other\": 1}\ngithub.com/x/y.(*Z).F\n\t/workspace/a.go:1\ntime.goFunc\n\t/usr/local/go/src/time/sleep.go:215\n{\"level\":\"info\",\"msg\":\"keep this\"}\n2025-08-21T10:15:33.123Z\tINFO\tegress\ta/b.go:1\tdrop me too\t{\"handlerID\": \"EGH_x\"}\n";
    let mut fast = Decoder::with_triage(Box::new(OnlyKeep));
    let out = push_all(&mut fast, text);
    let mut plain = Decoder::plain(Box::new(OnlyKeep));
    let full = push_all(&mut plain, text);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].message, "drop me");
    assert_eq!(out[0].continuation_lines, 4);
    assert_eq!(out[0].raw, full[0].raw);
    assert_eq!(out[1].message, "keep this");
    assert_eq!(full.len(), 2);
    assert_eq!(fast.stats.skipped, 1);
    assert!(fast.stats.skipped_handler);
    assert_eq!(fast.stats.continuation, 4);
    assert_eq!(fast.stats, plain.stats);

    // A skipped service line (no `handlerID`) is not taken for a handler's.
    let mut d = Decoder::with_triage(Box::new(OnlyKeep));
    let line = "{\"level\":\"info\",\"msg\":\"drop me\",\"nodeID\":\"NE_x\"}";
    assert!(push_all(&mut d, line).is_empty());
    assert_eq!(d.stats.skipped, 1);
    assert!(!d.stats.skipped_handler);
}

#[test]
fn other_programs_error_lines_are_not_dumps() {
    let (evs, _) =
        decode_all("ERROR:    Exception in ASGI application\nTraceback (most recent call last):");
    assert!(
        evs.iter().all(|e| e.format == Some(Format::Raw)),
        "{evs:#?}"
    );
}

#[test]
fn panic_frames_with_arguments_join_the_stack() {
    let (evs, _) = decode_all("panic: runtime error: invalid memory address or nil pointer dereference\ngoroutine 1 [running]:\ngithub.com/redis/go-redis/v9.(*Client).Subscribe(0x0, {0x2d4c6e8, 0xc0000b8000})\n\t/go/pkg/mod/github.com/redis/go-redis/v9@v9.0.5/redis.go:1\nmain.main()\n\t/workspace/cmd/server/main.go:71 +0x1a");
    assert_eq!(evs.len(), 1, "{evs:#?}");
    assert_eq!(evs[0].continuation_lines, 5);
}

#[test]
fn bare_message_with_fields() {
    let (evs, _) = decode_all("egress_failed {\"egressID\":\"EG_Rj7Yh2WbN5cT\",\"error\":\"pipeline frozen\",\"code\":500}");
    assert_eq!(evs[0].message, "egress_failed");
    assert_eq!(evs[0].field_i64("code"), Some(500));
}

#[test]
fn stack_frames_without_a_package_path() {
    let (evs, _) = decode_all("2025-08-21T10:16:02.777Z\tERROR\tegress\tpipeline/controller.go:587\tcontroller onError invoked\t{\"error\": \"pipeline frozen\"}\ngithub.com/livekit/egress/pkg/pipeline.(*Controller).OnError\n\t/workspace/pkg/pipeline/controller.go:587\ntime.goFunc\n\t/usr/local/go/src/time/sleep.go:215");
    assert_eq!(evs.len(), 1, "{evs:#?}");
    assert_eq!(evs[0].continuation_lines, 4);
}

#[test]
fn docker_json_file_lines_decode_and_join_chunks() {
    let zap = r#"{"level":"info","ts":1769512265.179,"logger":"egress","msg":"egress_aborted","egressID":"EG_Rj7Yh2WbN5cT","error":"Start signal not received","code":412}"#;
    let whole = serde_json::json!({"log": format!("{zap}\n"), "stream": "stderr", "time": "2026-01-27T11:11:05.180Z"});
    let (a, b) = zap.split_at(40);
    let c1 = serde_json::json!({"log": a, "stream": "stderr", "time": "2026-01-27T11:11:05.180Z"});
    let c2 = serde_json::json!({"log": format!("{b}\n"), "stream": "stderr", "time": "2026-01-27T11:11:05.180Z"});
    let plain = serde_json::json!({"log": "missing config\n", "stream": "stderr", "time": "2026-01-27T11:11:06Z"});
    let text = format!("{whole}\n{c1}\n{c2}\n{plain}");
    let (evs, st) = decode_all(&text);
    assert_eq!(evs.len(), 3);
    for e in &evs[..2] {
        assert_eq!(e.format, Some(Format::Json));
        assert_eq!(e.message, "egress_aborted");
        assert_eq!(e.field_i64("code"), Some(412));
    }
    assert_eq!(evs[1].origin.line, 2);
    assert_eq!(evs[2].message, "missing config");
    assert_eq!(
        evs[2].ts.map(|t| t.iso()).as_deref(),
        Some("2026-01-27T11:11:06.000Z")
    );
    assert_eq!(st.enveloped, 4);
    assert_eq!(st.chunks_joined, 1);
}

#[test]
fn cri_partial_records_are_joined_until_f() {
    let text = "2026-01-27T11:11:05.179Z stderr P 2026-01-27T11:11:05.179Z\tINFO\tegress\tegress_aborted\t{\"egressID\": \"EG_Rj7Yh2Wb\n\
2026-01-27T11:11:05.179Z stderr P N5cT\", \"error\": \"Start signal \n\
2026-01-27T11:11:05.179Z stderr F not received\", \"code\": 412}\n\
2026-01-27T11:11:06.000Z stdout F missing config";
    let (evs, st) = decode_all(text);
    assert_eq!(evs.len(), 2, "{evs:#?}");
    assert_eq!(evs[0].format, Some(Format::Console));
    assert_eq!(
        evs[0].field_str("egressID").as_deref(),
        Some("EG_Rj7Yh2WbN5cT")
    );
    assert_eq!(
        evs[0].field_str("error").as_deref(),
        Some("Start signal not received")
    );
    assert_eq!(evs[1].message, "missing config");
    assert!(evs[1].ts.is_some());
    assert_eq!(st.chunks_joined, 2);
}

#[test]
fn partial_chunk_without_its_end_is_kept() {
    let text = "2026-01-27T11:11:05.179Z stderr P half a line\nplain text after";
    let (evs, _) = decode_all(text);
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0].message, "half a line");
    assert_eq!(evs[1].message, "plain text after");
}

#[test]
fn journald_loki_and_elastic_keep_their_container() {
    let text = [
        r#"{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1769512265179000","MESSAGE":"2026-01-27T11:11:05.179Z\tERROR\tegress\tpipeline failed\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\"}","CONTAINER_NAME":"egress-a"}"#,
        r#"{"labels":{"pod":"egress-1","container":"egress"},"line":"missing config","timestamp":"2026-01-27T11:11:06Z"}"#,
        r#"{"_index":"logs","_source":{"@timestamp":"2026-01-27T11:11:07Z","message":"redis: connection refused","kubernetes":{"pod_name":"egress-2","container_name":"egress"}}}"#,
    ]
    .join("\n");
    let (evs, _) = decode_all(&text);
    assert_eq!(evs.len(), 3);
    assert_eq!(evs[0].container.as_deref(), Some("egress-a"));
    assert_eq!(evs[0].level, Some(Level::Error));
    assert_eq!(
        evs[0].field_str("egressID").as_deref(),
        Some("EG_Rj7Yh2WbN5cT")
    );
    assert_eq!(evs[1].container.as_deref(), Some("pod/egress-1/egress"));
    assert_eq!(evs[1].message, "missing config");
    assert!(evs[1].ts.is_some());
    assert_eq!(evs[2].container.as_deref(), Some("pod/egress-2/egress"));
}

#[test]
fn egress_info_json_is_still_a_dump() {
    let (evs, st) = decode_all(
        r#"{"egressId":"EG_Rj7Yh2WbN5cT","roomName":"r","status":"EGRESS_ABORTED","error":"Start signal not received","errorCode":412}"#,
    );
    assert_eq!(evs.len(), 1);
    assert_eq!(st.enveloped, 0);
}

#[test]
fn interleaved_streams_rebuild_their_own_lines() {
    let text = "2026-01-27T11:11:05.179Z stderr P missing \n\
2026-01-27T11:11:05.179Z stdout F handler line\n\
2026-01-27T11:11:05.180Z stderr F config";
    let (evs, st) = decode_all(text);
    let msgs: Vec<&str> = evs.iter().map(|e| e.message.as_ref()).collect();
    assert_eq!(msgs, vec!["handler line", "missing config"]);
    assert_eq!(st.chunks_joined, 1);
}

/// Checks that every line decoded from its peek decodes the same in full; returns how many
/// were decoded from their peek.
fn peeked_as_in_full(lines: &[impl AsRef<str>], keep: &KeepFields) -> usize {
    let mut fast = 0;
    for line in lines.iter().map(AsRef::as_ref) {
        let Some(p) = peek(line) else { continue };
        let full = decode_entry_keep(line, false, Some(keep));
        if let Some(ev) = decode_peeked(&p, Some(keep)) {
            assert_eq!(format!("{ev:?}"), format!("{full:?}"), "{line}");
            fast += 1;
        }
    }
    fast
}

#[test]
fn peeked_console_lines_decode_as_in_full() {
    let keep = KeepFields::new(vec!["clusterID".into()]);
    let lines = [
        "2026-11-25T08:00:01.123Z\tINFO\tegress\tserver/server_rpc.go:76\trequest validated\t{\"nodeID\": \"NE_1\", \"clusterID\": \"\", \"egressID\": \"EG_Rj7Yh2WbN5cT\", \"requestType\": \"room_composite\"}",
        "2026-11-25T08:00:01.123Z\tDEBUG\tegress.lksdk\tsource/sdk.go:274\t  connecting to room  \t{\"nodeID\": \"NE_1\", \"count\": 3, \"ok\": true, \"x\": null}",
        "2026-11-25T08:00:01Z\tINFO\t\tinfo/io.go:268\tegress_active\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\", \"request\": {\"room\": \"r\"}}",
        "2026-11-25T08:00:01.5Z\tINFO\tegress\tpipeline/watch.go:275\tpipeline playing\t{}",
        "2026-11-25T08:00:01.5Z\tINFO\tegress\tpipeline/watch.go:275\tbroken\t{\"a\": }",
        "2026-11-25T08:00:01.5Z\tINFO\tegress\tpipeline/watch.go:275\tmsg with {brace}\t{\"a\": 1}",
        "2026-11-25T08:00:01.5Z\tINFO\tegress\tpipeline/watch.go:275\tno fields",
        "2026-11-25T08:00:01.5Z\tINFO\tegress\tnot a caller\tmsg\t{\"a\": 1}",
    ];
    assert_eq!(peeked_as_in_full(&lines, &keep), 3);
}

#[test]
fn peeked_json_lines_decode_as_in_full() {
    let keep = KeepFields::new(vec!["clusterID".into()]);
    let head = |ts: &str| {
        format!(r#"{{"level":"info","ts":{ts},"logger":"egress","caller":"a/b.go:1","msg":"m""#)
    };
    let lines = [
        format!(
            r#"{},"egressID":"EG_Rj7Yh2WbN5cT","clusterID":"","n":3}}"#,
            head("1795593600.007774")
        ),
        format!("{}}}", head("1795593600")),
        // Times read the f64 way: more than six decimals, exponents, far future, a string.
        format!("{},\"a\":1}}", head("1795593600.0077745")),
        format!("{},\"a\":1}}", head("1.7955936e9")),
        format!("{},\"a\":1}}", head("2795593600.5")),
        format!("{},\"a\":1}}", head("\"2026-11-25T08:00:01.5Z\"")),
        format!("{},\"ts\":5,\"a\":1}}", head("1795593600.5")),
        // Not numbers or not JSON: the general way judges them.
        format!("{},\"a\":1}}", head("1e999")),
        format!("{},\"a\":1}}", head("17x")),
        format!("{} ,\"a\":1}}", head("1")),
        format!("{},\"a\":}}", head("1")),
        format!("{},\"a\":1}} `", head("1")),
    ];
    assert_eq!(peeked_as_in_full(&lines, &keep), 8);
}

#[test]
fn repeated_kept_names_keep_their_last_value_past_the_128th_name() {
    let extra: Vec<String> = (0..200).map(|i| format!("x{i}")).collect();
    let keep = KeepFields::new(extra);
    let line = r#"{"level":"info","ts":1,"logger":"l","caller":"c","msg":"m","x199":1,"x199":2,"nodeID":"a","nodeID":"b","x5":3}"#;
    let ev = decode_entry_keep(line, false, Some(&keep));
    let got: Vec<(&str, String)> = ev
        .fields
        .iter()
        .map(|(k, v)| (k, v.to_json().to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("x199", "2".into()),
            ("nodeID", "\"b\"".into()),
            ("x5", "3".into())
        ]
    );
}

#[test]
fn request_dumps_keep_only_their_room_name() {
    let line = "{\"level\":\"info\",\"ts\":1764064931.881,\"msg\":\"request validated\",\"egressID\":\"EG_Rj7Yh2WbN5cT\",\"request\":{\"RoomComposite\":{\"room_name\":\"daily\",\"layout\":\"grid\",\"file_outputs\":[{\"filepath\":\"a.mp4\"}],\"audio_only\":false}}}";
    let ev = decode_entry_keep(line, false, Some(&KeepFields::new(vec![])));
    assert_eq!(
        ev.fields.get("request").map(FieldValue::to_json),
        Some(serde_json::json!({"RoomComposite": {"room_name": "daily"}}))
    );
    // A rule that names `request` gets the whole dump.
    let ev = decode_entry_keep(line, false, Some(&KeepFields::new(vec!["request".into()])));
    assert_eq!(
        ev.fields["request"].to_json()["RoomComposite"]["layout"],
        serde_json::json!("grid")
    );
    // The console form, and odd shapes: a string request is kept, scalars and lists inside
    // are dropped, a camelCase room name is kept.
    let keep = KeepFields::new(vec![]);
    let console = "2026-11-25T08:00:01.123Z\tINFO\tegress\tserver/server_rpc.go:76\trequest validated\t{\"egressID\": \"EG_Rj7Yh2WbN5cT\", \"request\": {\"Web\": {\"url\": \"https://x\", \"roomName\": \"r2\"}, \"n\": 3, \"l\": [1, {\"a\": 2}]}}";
    let ev = decode_entry_keep(console, false, Some(&keep));
    assert_eq!(
        ev.fields.get("request").map(FieldValue::to_json),
        Some(serde_json::json!({"Web": {"roomName": "r2"}, "n": null, "l": null}))
    );
    let ev = decode_entry_keep(
        "2026-11-25T08:00:01.123Z\tINFO\tegress\tx/y.go:1\tm\t{\"request\": \"raw text\"}",
        false,
        Some(&keep),
    );
    assert_eq!(
        ev.fields.get("request").map(FieldValue::to_json),
        Some(serde_json::json!("raw text"))
    );
}

#[test]
fn repeated_texts_are_shared() {
    let a = intern("request validated");
    let b = intern(&String::from("request validated"));
    match (&a, &b) {
        (Text::Borrowed(x), Text::Borrowed(y)) => assert!(std::ptr::eq(*x, *y)),
        _ => panic!("short texts are interned: {a:?} {b:?}"),
    }
    // Long texts (raw lines, error dumps) get their own copy.
    let long = "x".repeat(MAX_INTERNED_LEN + 1);
    assert!(matches!(intern(&long), Text::Owned(ref s) if *s == long));
    assert_eq!(intern_owned("handler ready".into()), "handler ready");
}

#[test]
fn flat_json_lines_decode_as_the_full_parse() {
    let keep = KeepFields::new(vec!["clusterID".into()]);
    let lines = [
        r#"{"level":"info","ts":1764064931.881,"logger":"egress","caller":"server/server_rpc.go:76","msg":"request validated","nodeID":"NE_1","clusterID":"","egressID":"EG_Rj7Yh2WbN5cT","extra":7}"#,
        r#"{"level":"warn","ts":1764064931,"msg":"x","msg":"last wins","error":"boom","error":"again","code":412,"ok":true,"n":null}"#,
        r#"{"level":"error","ts":"2026-11-25T08:00:01.5Z","msg":"with stack","stacktrace":"goroutine 1","details":"d é"}"#,
        r#"{"level":"info","ts":1.5e9,"msg":"big","egressID":"EG_Rj7Yh2WbN5cT","count":123456789012345678901234567890}"#,
        r#"{"level":"info","ts":1,"msg":"nested","request":{"RoomComposite":{"room_name":"r"}},"egressID":"EG_Rj7Yh2WbN5cT"}"#,
        r#"{"level":"info","ts":1,"msg":"escaped \"quote\"","egressID":"EG_Rj7Yh2WbN5cT"}"#,
        r#"{"level":"info","ts":1e999,"msg":"out of range"}"#,
        // zap's own header order, read in one go, then keys repeating it: the last wins.
        r#"{"level":"info","ts":1764064931.881,"logger":"egress","caller":"a.go:1","msg":"only the header"}"#,
        r#"{"level":"info","ts":1764064931.881,"logger":"egress","caller":"a.go:1","msg":"first","level":"error","msg":"second","ts":"2026-11-25T08:00:01.5Z","caller":7,"egressID":"EG_Rj7Yh2WbN5cT"}"#,
        r#"{"level":"info","ts":1764064931.881,"logger":"egress","caller":"a.go:1","msg":"m","x":{"a":]}}"#,
    ];
    for line in lines {
        let full = decode_entry_keep(line, false, None);
        let fast = decode_entry_keep(line, false, Some(&keep));
        assert_eq!(
            (
                &fast.level,
                &fast.ts,
                &fast.logger,
                &fast.caller,
                &fast.message,
                &fast.format
            ),
            (
                &full.level,
                &full.ts,
                &full.logger,
                &full.caller,
                &full.message,
                &full.format
            ),
            "{line}"
        );
        for (k, v) in fast.fields.iter() {
            if k != "request" {
                assert_eq!(full.fields.get(k), Some(v), "{line}: {k}");
            }
        }
        for (k, _) in full.fields.iter() {
            assert_eq!(
                fast.fields.contains_key(k),
                keep.key(k).is_some() && k != "stacktrace",
                "{line}: {k}"
            );
        }
    }
}

#[test]
fn enveloped_sources_are_cut_only_where_no_partial_record_waits() {
    let rec = |stream: &str, log: &str| {
        format!(
            r#"{{"log":{},"stream":"{stream}","time":"2026-11-25T08:00:00Z"}}"#,
            serde_json::to_string(log).unwrap_or_default()
        )
    };
    let entry = rec(
        "stderr",
        "{\"level\":\"info\",\"msg\":\"request received\"}\n",
    );
    let mut cuts = EnvelopeCuts::new(entry.as_bytes());
    assert!(cuts.clean_before(entry.as_bytes()));
    // A stream waits for the rest of a partial record: no cut, even before another stream's
    // whole entry.
    cuts.see(rec("stdout", "{\"level\":\"info\",").as_bytes());
    assert!(!cuts.clean_before(entry.as_bytes()));
    cuts.see(rec("stderr", "a whole line of the other stream\n").as_bytes());
    assert!(!cuts.clean_before(entry.as_bytes()));
    cuts.see(rec("stdout", "\"msg\":\"x\"}\n").as_bytes());
    assert!(cuts.clean_before(entry.as_bytes()));
    // Not before a continuation line or a partial record.
    assert!(!cuts.clean_before(rec("stderr", "\tgithub.com/x/y.go:1\n").as_bytes()));
    assert!(!cuts.clean_before(rec("stderr", "{\"level\":\"info\",").as_bytes()));
    // A line it cannot read (another envelope, plain text) blocks cuts until one is made.
    cuts.see(b"{\"MESSAGE\":\"m\",\"__CURSOR\":\"c\",\"CONTAINER_PARTIAL_MESSAGE\":\"true\"}");
    assert!(!cuts.clean_before(entry.as_bytes()));
    cuts.cut();
    assert!(cuts.clean_before(entry.as_bytes()));
    // A plain source is never cut this way (its own entries are: `starts_entry`).
    let plain = b"{\"level\":\"info\",\"msg\":\"request received\"}";
    let cuts = EnvelopeCuts::new(plain);
    assert!(!cuts.clean_before(entry.as_bytes()));
}

/// A paste that lists an entry's fields one per indented line under its message (the origin
/// incident's own shape) decodes to what the one-line pasted form does; an indented field line
/// does not join a JSON entry, and stays an entry of its own after a blank line.
#[test]
fn field_lines_below_a_message_are_its_fields() {
    let below = "2026-01-27T11:11:39.782Z INFO egress_aborted\n  \"error\": \"Start signal not received\"\n  \"code\": 412\n  \"details\": \"End reason: StopEgress API\"\n";
    let one_line = "2026-01-27T11:11:39.782Z INFO egress_aborted \"error\": \"Start signal not received\" \"code\": 412 \"details\": \"End reason: StopEgress API\"\n";
    let (a, _) = decode_all(below);
    let (b, _) = decode_all(one_line);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(
        (&a[0].message, a[0].ts, a[0].level),
        (&b[0].message, b[0].ts, b[0].level)
    );
    for k in ["error", "code", "details"] {
        assert_eq!(a[0].field_str(k), b[0].field_str(k), "{k}");
    }
    assert_eq!(a[0].continuation_lines, 3);
    assert!(a[0].raw.contains("\n  \"code\": 412"), "{}", a[0].raw);

    let json = "{\"level\":\"info\",\"ts\":1.5,\"msg\":\"x\"}\n  \"code\": 412\n";
    assert_eq!(decode_all(json).0.len(), 2);
    let apart = "2026-01-27T11:11:39.782Z INFO egress_aborted\n\n  \"code\": 412\n";
    assert_eq!(decode_all(apart).0.len(), 2);
}

/// The ways an `EgressInfo` reaches a paste: a protobuf-text print with nested messages, the
/// same on one line, and a webhook body. Each is one entry with the egress's own fields.
#[test]
fn egress_info_as_users_paste_it() {
    let nested = "file {\n  filename: \"a.mp4\"\n  duration: 152090\n}\nerror: \"Start signal not received\"\nroom_name: \"r1\"\nfile_results {\n  filename: \"a.mp4\"\n}\nupdated_at: 1739527031659577507\nerror_code: 412";
    let one_line = r#"egress_id:"EG_abcdefABCDEF" room_name:"r1" status:EGRESS_ABORTED error:"Start signal not received" error_code:412"#;
    let webhook = r#"{"event":"egress_ended","egressInfo":{"egressId":"EG_abcdefABCDEF","roomName":"r1","status":"EGRESS_ABORTED","error":"Start signal not received","errorCode":412}}"#;
    for text in [nested, one_line, webhook] {
        let (evs, _) = decode_all(text);
        assert_eq!(evs.len(), 1, "{text}");
        let e = &evs[0];
        assert_eq!(e.format, Some(Format::Dump), "{text}");
        assert_eq!(
            e.field_str("error").as_deref(),
            Some("Start signal not received")
        );
        assert_eq!(e.field_str("room").as_deref(), Some("r1"));
        assert_eq!(e.field_i64("code"), Some(412), "{text}");
        assert!(
            !e.fields.contains_key("filename"),
            "nested fields stay out: {text}"
        );
    }
}

/// Fields copied out of their braces: a twirp error reply is an entry whose message is its
/// error text, not an egress (its `status` is HTTP's, its `code` twirp's).
#[test]
fn bare_reply_fields_are_an_entry_with_their_error_as_message() {
    let (evs, _) =
        decode_all(r#""status": "401", "error": "permissions denied", "code": "unauthenticated""#);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].format, Some(Format::Pasted));
    assert_eq!(evs[0].message, "permissions denied");
    assert_eq!(evs[0].field_str("code").as_deref(), Some("unauthenticated"));
    let (evs, _) = decode_all("\"error\": \"Start signal not received\",\n\"code\": 412");
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].format, Some(Format::Dump));
    assert_eq!(evs[0].field_i64("code"), Some(412));
}

/// Condensed and logfmt lines: caller first, fields as `key="value"` after the message.
#[test]
fn caller_first_and_logfmt_lines() {
    let (evs, _) = decode_all(
        "pulse/pactl.go:15  failed to list pulse info  error=\"Connection failure: Connection terminated\"",
    );
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].caller.as_deref(), Some("pulse/pactl.go:15"));
    assert_eq!(evs[0].message, "failed to list pulse info");
    assert_eq!(
        evs[0].field_str("error").as_deref(),
        Some("Connection failure: Connection terminated")
    );
    let (evs, _) = decode_all(
        r#"time=2024-05-01T10:00:00.000Z level=error msg="failed to start egress" err="twirp error unavailable: no response from servers" room=r1"#,
    );
    assert_eq!(evs[0].message, "failed to start egress");
    assert_eq!(evs[0].level, Some(Level::Error));
    assert!(evs[0].ts.is_some());
    assert_eq!(evs[0].field_str("room").as_deref(), Some("r1"));
    // Not logfmt: an `=` inside prose, an unterminated quote.
    let (evs, _) = decode_all("checking a=b then c");
    assert!(evs[0].fields.is_empty());
    let (evs, _) = decode_all("bad line x=\"open");
    assert!(evs[0].fields.is_empty());
}

/// A quoted URL followed by a colon is not a pasted `"key": value` pair.
#[test]
fn quoted_urls_are_not_pasted_keys() {
    let (evs, _) = decode_all(
        r#"S3 upload failed: Put "http://minio:9000/bucket/a.mp4": dial tcp: lookup minio on 127.0.0.11:53: no such host"#,
    );
    assert_eq!(evs[0].format, Some(Format::Raw));
    assert!(evs[0].message.starts_with("S3 upload failed: Put"));
}

/// A line cut off inside its JSON object (a paste that stops mid-line) keeps what it shows.
#[test]
fn cut_json_is_read_up_to_the_cut() {
    let line = "2023-07-19T17:25:32.979Z\tWARN\tegress\tservice/handler.go:198\tegress failed\t{\"nodeID\": \"NE_EVj7YMEHgL9X\", \"egressID\": \"EG_5tt6i8YwRirv\", \"error\": \"chrome failed to start:\\n[35:35:0719/172532.957399:FATAL:zygote_host_impl_linux.cc(127)] No usable sandbox! Update yo";
    let (evs, _) = decode_all(line);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].message, "egress failed");
    assert_eq!(
        evs[0].field_str("egressID").as_deref(),
        Some("EG_5tt6i8YwRirv")
    );
    assert!(evs[0]
        .field_str("error")
        .is_some_and(|e| e.ends_with("Update yo")));
    let (evs, _) = decode_all(
        r#"{"level":"error","ts":1.5,"msg":"egress_failed","egressID":"EG_5tt6i8YwRirv","error":"S3 upload fa"#,
    );
    assert_eq!(evs[0].message, "egress_failed");
    assert_eq!(evs[0].field_str("error").as_deref(), Some("S3 upload fa"));
    assert_eq!(
        join::close_cut_json(r#"{"a": 1, "b": "#).as_deref(),
        Some(r#"{"a": 1, "b":null}"#)
    );
    assert_eq!(
        join::close_cut_json(r#"{"a": [1,"#).as_deref(),
        Some(r#"{"a": [1]}"#)
    );
    assert_eq!(join::close_cut_json(r#"{"a": 1}"#), None);
}

/// A Python traceback is one entry, decoded as its exception line; the raw text keeps it all.
#[test]
fn python_traceback_is_one_entry_with_the_exception_as_message() {
    let (evs, _) = decode_all(
        "Traceback (most recent call last):\n  File \"rec.py\", line 12, in <module>\n    res = await lkapi.egress.start_room_composite_egress(req)\nlivekit.api.twirp_client.TwirpError: TwirpError(code=permission_denied, message=permissions denied, status=403)\n2024-05-01T10:00:00.000Z INFO egress next {}",
    );
    assert_eq!(evs.len(), 2, "{evs:#?}");
    assert!(evs[0]
        .message
        .starts_with("livekit.api.twirp_client.TwirpError"));
    assert!(evs[0].raw.starts_with("Traceback"));
    assert!(evs[0].raw.contains("rec.py"));
    assert_eq!(evs[0].continuation_lines, 3);
    assert_eq!(evs[1].message, "next");
}

/// A console header with its JSON object on the next line: the object is its fields, also
/// when the object itself runs over several lines.
#[test]
fn fields_on_the_line_below_their_header() {
    let (evs, _) = decode_all("2026-01-27T11:11:39.782Z\tINFO\tegress\tinfo/io.go:268\tegress_aborted\n{\"egressID\": \"EG_Nx7Wq2Lz8Nkb\", \"error\": \"Start signal not received\", \"code\": 412}");
    assert_eq!(evs.len(), 1, "{evs:#?}");
    assert_eq!(evs[0].message, "egress_aborted");
    assert_eq!(evs[0].field_i64("code"), Some(412));
    let (evs, _) = decode_all("2026-01-27T11:11:39.782Z INFO egress request validated\n{\n  \"egressID\": \"EG_Nx7Wq2Lz8Nkb\",\n  \"room\": \"r1\"\n}");
    assert_eq!(evs.len(), 1, "{evs:#?}");
    assert_eq!(evs[0].field_str("room").as_deref(), Some("r1"));
    // A zap JSON line after a console line is an entry of its own.
    let (evs, _) =
        decode_all("2026-01-27T11:11:39.782Z INFO egress x\n{\"level\":\"info\",\"msg\":\"y\"}");
    assert_eq!(evs.len(), 2);
}

/// The logfmt tail is found in one pass: where it starts, also after words that are not pairs
/// and around quoted values with spaces and `=` in them.
#[test]
fn logfmt_tail_start() {
    use grammar::find_logfmt_start as start;
    assert_eq!(start("msg a=1 b=\"x y=z\""), Some(4));
    assert_eq!(start("a=1 prose b=2"), Some(10));
    assert_eq!(start("a=1 b=2 prose"), None);
    assert_eq!(start("x=\"a b=c\"d"), Some(5));
    assert_eq!(start("no pairs here"), None);
    let long = "a=b ".repeat(20_000) + "x";
    assert_eq!(start(&long), None);
}
