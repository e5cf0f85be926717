from agent.core.reading.trust import aligned, verify_sender

ID = "mx.partner.test"


def test_without_a_trusted_authserv_id_everyone_is_believed():
    assert verify_sender((), "a@vendor.test", None).trusted


def test_dmarc_pass_for_the_from_domain_is_trusted():
    v = verify_sender((f"{ID}; dmarc=pass (p=reject) header.from=vendor.test",), "s@vendor.test", ID)
    assert v.trusted and "dmarc=pass" in v.reason


def test_aligned_dkim_is_trusted_and_unaligned_is_not():
    ok = verify_sender((f"{ID}; dkim=pass header.d=vendor.test header.s=k1",), "s@eu.vendor.test", ID)
    assert ok.trusted
    other = verify_sender((f"{ID}; dkim=pass header.d=mailer.example",), "s@vendor.test", ID)
    assert not other.trusted


def test_results_from_another_server_or_failing_ones_are_not_trusted():
    forged = verify_sender(("evil.example; dmarc=pass header.from=vendor.test",), "s@vendor.test", ID)
    assert not forged.trusted and forged.reason == f"no Authentication-Results from {ID}"
    failed = verify_sender((f"{ID}; dmarc=fail header.from=vendor.test",), "s@vendor.test", ID)
    assert not failed.trusted and "no passing DMARC" in failed.reason
    other_domain = verify_sender((f"{ID}; dmarc=pass header.from=attacker.example",), "s@vendor.test", ID)
    assert not other_domain.trusted


def test_only_the_topmost_header_of_the_trusted_server_counts():
    headers = (f"{ID}; dmarc=fail header.from=vendor.test", f"{ID}; dmarc=pass header.from=vendor.test")
    assert not verify_sender(headers, "s@vendor.test", ID).trusted


def test_junk_headers_prove_nothing():
    assert not verify_sender(("garbage ;;; (", ""), "s@vendor.test", ID).trusted


def test_alignment_never_accepts_a_bare_tld():
    assert aligned("vendor.test", "mail.vendor.test") and not aligned("test", "vendor.test")
