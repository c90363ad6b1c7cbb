//! Records, device change (steps 515-518), key change, delivery and removals.

use super::*;

#[test]
fn create_then_get_round_trips_every_field() {
    let store = store_with_sub();
    let sub = store.get(OP).unwrap().expect("record");
    let want = new_sub(OP, ICCID);
    assert_eq!(sub.op_id, OP);
    assert_eq!(sub.profile.iccid, ICCID);
    assert_eq!(sub.profile.imsi, want.profile.imsi);
    assert_eq!(sub.profile.msisdn, OP);
    assert_eq!(sub.profile.ki.expose(), KI);
    assert_eq!(sub.profile.opc.expose(), OPC);
    assert_eq!(sub.profile.spn, "veUICC Mobile");
    assert_eq!(sub.profile.profile_name, "veUICC test profile");
    assert_eq!(sub.key, key(1));
    assert_eq!(sub.device, device(1));
    assert_eq!(sub.previous_device, None);
    assert_eq!(
        (sub.failures, sub.total_failures, sub.locked),
        (0, 0, false)
    );
    assert_eq!(sub.locked_at, None);
    assert_eq!(sub.delivery, Delivery::Pending);
    assert!(sub.pending_removals.is_empty());
    assert!(sub.created_at.ends_with('Z') && sub.created_at == sub.updated_at);
    let b = store.bindings(OP).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].state, BindingState::Active);
    assert_eq!(
        (b[0].imei.as_str(), b[0].eid.as_str()),
        (device(1).imei.as_str(), device(1).eid.as_str())
    );
    let log = store.audit(OP).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, AuditAction::Provision);
    assert_eq!(log[0].actor, Actor::Sm);
    assert_eq!(log[0].result, AuditResult::Ok);
    assert!(store.get("+8613800000002").unwrap().is_none());
}

#[test]
fn duplicates_and_malformed_input_are_refused() {
    let store = store_with_sub();
    assert!(matches!(
        store.create_subscription(&new_sub(OP, "8986000000000000001"), &Actor::Sm),
        Err(StoreError::AlreadyExists(op)) if op == OP
    ));
    assert!(matches!(
        store.create_subscription(&new_sub("+8613800000002", ICCID), &Actor::Sm),
        Err(StoreError::IccidInUse(_))
    ));
    let mut bad = new_sub("+8613800000003", "8986000000000000003");
    bad.profile.ki = SecretBytes::from_slice(&[1; 15]);
    assert!(matches!(
        store.create_subscription(&bad, &Actor::Sm),
        Err(StoreError::Invalid { field: "Ki", .. })
    ));
    let mut bad = new_sub("", "8986000000000000003");
    bad.op_id.clear();
    assert!(matches!(
        store.create_subscription(&bad, &Actor::Sm),
        Err(StoreError::Invalid { .. })
    ));
    let mut bad = new_sub("+86 138", "8986000000000000003");
    bad.device.eid = "x".repeat(65);
    assert!(matches!(
        store.create_subscription(&bad, &Actor::Sm),
        Err(StoreError::Invalid { .. })
    ));
    let mut bad = new_sub("+8613800000004", "8986000000000000004");
    bad.profile.spn = "line\nbreak".into();
    assert!(matches!(
        store.create_subscription(&bad, &Actor::Sm),
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(store.list().unwrap().len(), 1);
}

#[test]
fn secrets_are_redacted_and_never_audited() {
    let store = store_with_sub();
    let sub = store.get(OP).unwrap().unwrap();
    let shown = format!("{sub:?}");
    assert!(shown.contains("<redacted 16 bytes>"), "{shown}");
    assert!(!shown.contains("70, 91, 92"), "Ki bytes leaked: {shown}");
    let ki_hex = hex_of(&KI);
    let refused = store.append_audit(
        OP,
        &Actor::Sm,
        AuditAction::Other("debug".into()),
        AuditResult::Ok,
        &format!("oops {}", ki_hex.to_uppercase()),
    );
    assert!(matches!(
        refused,
        Err(StoreError::Invalid {
            field: "audit details",
            ..
        })
    ));
    store
        .append_audit(
            OP,
            &Actor::Terminal(device(1).imei),
            AuditAction::DeviceChange,
            AuditResult::Refused,
            "record is locked",
        )
        .unwrap();
    store
        .change_device(OP, &device(2), &Actor::Card(device(2).eid))
        .unwrap();
    store
        .record_failure(OP, &Actor::Sm, Purpose::KeyChange, MAX_ATTEMPTS)
        .unwrap();
    for entry in store.audit(OP).unwrap() {
        let d = entry.details.to_ascii_lowercase();
        assert!(
            !d.contains(&ki_hex) && !d.contains(&hex_of(&OPC)),
            "{entry:?}"
        );
    }
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn audit_log_is_append_only() {
    let store = store_with_sub();
    let err = store.raw_execute("UPDATE audit SET result = 'refused'");
    assert!(err.is_err());
    let err = store.raw_execute("DELETE FROM audit");
    assert!(err.is_err());
    assert_eq!(store.audit(OP).unwrap().len(), 1);
}

#[test]
fn audit_accepts_unknown_op_ids_and_checks_actions() {
    let store = store_with_sub();
    store
        .append_audit(
            "+8600000",
            &Actor::Terminal("356938035643809".into()),
            AuditAction::DeviceChange,
            AuditResult::Refused,
            "unknown OP ID",
        )
        .unwrap();
    assert_eq!(store.audit("+8600000").unwrap().len(), 1);
    assert!(store
        .append_audit(
            OP,
            &Actor::Sm,
            AuditAction::Other("Bad Action".into()),
            AuditResult::Ok,
            ""
        )
        .is_err());
    assert!(store
        .append_audit(
            OP,
            &Actor::Card(String::new()),
            AuditAction::Lock,
            AuditResult::Ok,
            ""
        )
        .is_err());
}

#[test]
fn list_and_lookup_by_eid() {
    let store = store_with_sub();
    let mut second = new_sub("+8613800000002", "8986001234567890124");
    second.device = device(2);
    store.create_subscription(&second, &Actor::Sm).unwrap();
    let all = store.list().unwrap();
    assert_eq!(
        all.iter().map(|s| s.op_id.as_str()).collect::<Vec<_>>(),
        [OP, "+8613800000002"]
    );
    assert_eq!(all[0].delivery, Delivery::Pending);
    let on2 = store.subscriptions_on_eid(&device(2).eid).unwrap();
    assert_eq!(on2.len(), 1);
    assert_eq!(on2[0].op_id, "+8613800000002");
    assert!(store.subscriptions_on_eid("0").unwrap().is_empty());
}

#[test]
fn change_device_stops_old_binding_and_starts_new_in_one_step() {
    let store = store_with_sub();
    store
        .mark_delivered(
            OP,
            &device(1).eid,
            &device(1).identity_public_key,
            &Actor::Card(device(1).eid),
        )
        .unwrap();
    let old = store
        .change_device(OP, &device(2), &Actor::Card(device(2).eid))
        .unwrap();
    assert_eq!(old, device(1));
    let sub = store.get(OP).unwrap().unwrap();
    assert_eq!(sub.device, device(2));
    let prev = sub.previous_device.expect("previous device");
    assert_eq!(prev.device, device(1));
    assert_eq!(
        sub.delivery,
        Delivery::Pending,
        "the new card has not got it yet"
    );
    assert_eq!(sub.pending_removals.len(), 1);
    assert_eq!(sub.pending_removals[0].eid, device(1).eid);
    assert_eq!(
        sub.pending_removals[0].identity_public_key,
        device(1).identity_public_key
    );
    let b = store.bindings(OP).unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].state, BindingState::Stopped);
    assert_eq!(b[0].eid, device(1).eid);
    assert_eq!(b[0].stop_reason.as_deref(), Some("device-change"));
    assert_eq!(b[0].stopped_at.as_deref(), Some(prev.stopped_at.as_str()));
    assert_eq!(b[1].state, BindingState::Active);
    assert_eq!(b[1].eid, device(2).eid);
    assert_eq!(
        actions(&store, OP),
        [
            "provision",
            "profile-delivered",
            "binding-stopped",
            "binding-started",
            "removal-requested",
            "device-change"
        ]
    );
    // All rows of one change carry one timestamp: they were one transaction.
    let log = store.audit(OP).unwrap();
    assert!(log[2..].iter().all(|e| e.at == log[2].at));
    assert_eq!(store.subscriptions_on_eid(&device(1).eid).unwrap().len(), 0);
}

#[test]
fn change_device_is_all_or_nothing() {
    let store = store_with_sub();
    let before_bindings = store.bindings(OP).unwrap();
    let before_log = store.audit(OP).unwrap().len();
    // Make the last write of the transaction fail.
    store.inject_failure(
        "fail_change",
        "BEFORE INSERT",
        "audit",
        "NEW.action = 'device-change'",
    );
    assert!(store.change_device(OP, &device(2), &Actor::Sm).is_err());
    store.drop_failure("fail_change", "audit");
    let sub = store.get(OP).unwrap().unwrap();
    assert_eq!(sub.device, device(1));
    assert_eq!(sub.previous_device, None);
    assert!(sub.pending_removals.is_empty());
    assert_eq!(store.bindings(OP).unwrap(), before_bindings);
    assert_eq!(store.audit(OP).unwrap().len(), before_log);
    // And it works once the fault is gone.
    store.change_device(OP, &device(2), &Actor::Sm).unwrap();
}

#[test]
fn change_device_refusals() {
    let store = store_with_sub();
    assert!(matches!(
        store.change_device("+1", &device(2), &Actor::Sm),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.change_device(OP, &device(1), &Actor::Sm),
        Err(StoreError::Invalid { .. })
    ));
    for _ in 0..MAX_ATTEMPTS {
        store
            .record_failure(OP, &Actor::Sm, Purpose::DeviceChange, MAX_ATTEMPTS)
            .unwrap();
    }
    assert!(matches!(
        store.change_device(OP, &device(2), &Actor::Sm),
        Err(StoreError::Locked(_))
    ));
    assert_eq!(store.get(OP).unwrap().unwrap().device, device(1));
    assert_eq!(store.bindings(OP).unwrap().len(), 1);
}

#[test]
fn moving_back_cancels_the_removal_on_the_card_that_is_bound_again() {
    let store = store_with_sub();
    store.change_device(OP, &device(2), &Actor::Sm).unwrap();
    store.change_device(OP, &device(1), &Actor::Sm).unwrap();
    assert!(store
        .pending_removals_for(&device(1).eid)
        .unwrap()
        .is_empty());
    let on2 = store.pending_removals_for(&device(2).eid).unwrap();
    assert_eq!(on2.len(), 1);
    assert_eq!(on2[0].op_id, OP);
    assert_eq!(on2[0].iccid, ICCID);
    assert!(actions(&store, OP).contains(&"removal-cancelled".to_string()));
    let b = store.bindings(OP).unwrap();
    assert_eq!(
        b.iter().filter(|b| b.state == BindingState::Active).count(),
        1
    );
    assert_eq!(b.len(), 3);
}

#[test]
fn same_card_in_another_terminal_keeps_delivery_and_needs_no_removal() {
    let store = store_with_sub();
    store
        .mark_delivered(
            OP,
            &device(1).eid,
            &device(1).identity_public_key,
            &Actor::Sm,
        )
        .unwrap();
    let mut moved = device(1);
    moved.imei = "356938035643899".into();
    store.change_device(OP, &moved, &Actor::Sm).unwrap();
    let sub = store.get(OP).unwrap().unwrap();
    assert!(matches!(sub.delivery, Delivery::Delivered { ref eid, .. } if *eid == device(1).eid));
    assert!(sub.pending_removals.is_empty());
}

#[test]
fn delivery_and_old_card_removal() {
    let store = store_with_sub();
    assert!(matches!(
        store.mark_delivered(
            OP,
            &device(2).eid,
            &device(2).identity_public_key,
            &Actor::Sm
        ),
        Err(StoreError::NotBoundDevice { .. })
    ));
    store
        .mark_delivered(
            OP,
            &device(1).eid,
            &device(1).identity_public_key,
            &Actor::Card(device(1).eid),
        )
        .unwrap();
    store.change_device(OP, &device(2), &Actor::Sm).unwrap();
    store
        .mark_delivered(
            OP,
            &device(2).eid,
            &device(2).identity_public_key,
            &Actor::Card(device(2).eid),
        )
        .unwrap();
    let sub = store.get(OP).unwrap().unwrap();
    assert!(matches!(sub.delivery, Delivery::Delivered { ref eid, .. } if *eid == device(2).eid));
    let owed = store.pending_removals_for(&device(1).eid).unwrap();
    assert_eq!(owed.len(), 1);
    store
        .confirm_removal(
            OP,
            &device(1).eid,
            &device(1).identity_public_key,
            &Actor::Card(device(1).eid),
        )
        .unwrap();
    assert!(store
        .pending_removals_for(&device(1).eid)
        .unwrap()
        .is_empty());
    assert!(matches!(
        store.confirm_removal(
            OP,
            &device(1).eid,
            &device(1).identity_public_key,
            &Actor::Sm
        ),
        Err(StoreError::NoPendingRemoval { .. })
    ));
    let log = store.audit(OP).unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.action, AuditAction::OldProfileRemoved);
    assert_eq!(last.actor, Actor::Card(device(1).eid));
    assert_eq!(store.list().unwrap()[0].pending_removals, 0);
}

#[test]
fn replace_public_key_updates_and_audits() {
    let store = store_with_sub();
    store
        .replace_public_key(OP, &key(2), &Actor::Card(device(1).eid))
        .unwrap();
    assert_eq!(store.get(OP).unwrap().unwrap().key, key(2));
    assert_eq!(
        actions(&store, OP).last().map(String::as_str),
        Some("rekey")
    );
    let mut bad = key(3);
    bad.kdf_salt = vec![1; 4];
    assert!(matches!(
        store.replace_public_key(OP, &bad, &Actor::Sm),
        Err(StoreError::Invalid { .. })
    ));
    for _ in 0..MAX_ATTEMPTS {
        store
            .record_failure(OP, &Actor::Sm, Purpose::KeyChange, MAX_ATTEMPTS)
            .unwrap();
    }
    assert!(matches!(
        store.replace_public_key(OP, &key(3), &Actor::Sm),
        Err(StoreError::Locked(_))
    ));
    assert_eq!(store.get(OP).unwrap().unwrap().key, key(2));
}
