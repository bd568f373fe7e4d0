"""Known differences between the etcd these tests run against (3.4.23) and what etcdlite does.

etcdlite follows current etcd (3.5/3.6) where etcd fixed a bug or tightened validation after
3.4; the conformance suite runs against Debian's etcd 3.4.23. Every difference a test meets is
registered here, once, with its reason and the etcd issue or pull request behind it, and the
tests that meet one cite its id. A test that meets a registered divergence never skips or
xfails: it either runs the Store with ``compat="3.4"`` against etcd 3.4 (where that profile
reproduces 3.4), or asserts the documented 3.4 behaviour on etcd and the current behaviour on
the Store.

``kind`` says where the difference comes from: ``"version"`` (etcd changed between 3.4 and
current), ``"transport"`` (something the gRPC transport in front of etcd does, which an
in-process Store has no equivalent for), or ``"crash"`` (a request that makes etcd panic, which
etcdlite answers with an error instead; no test sends it to etcd), or ``"choice"`` (a corner
where etcdlite picks a different, documented answer that no client depends on).

This is the one registry, for the KV and the watch conformance tests alike; ``docs/
differences.md`` describes every entry for users.

>>> DIVERGENCES["compaction-drops-tombstone"].store_compat
'3.4'
>>> sorted({d.kind for d in DIVERGENCES.values()})
['choice', 'crash', 'transport', 'version']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ("DIVERGENCES", "Divergence", "divergence", "etcd_has")


@dataclass(frozen=True)
class Divergence:
    """One known difference: what etcd 3.4.23 does, what etcdlite does, and why."""

    id: str
    kind: Literal["version", "transport", "crash", "choice"]
    etcd_34: str
    etcdlite: str
    reason: str
    #: etcd issues, pull requests or advisories behind the change.
    refs: tuple[str, ...]
    #: The first etcd versions with the new behaviour, per release line, where known.
    fixed_in: tuple[tuple[int, int, int], ...] = ()
    #: The Store's ``compat`` profile that reproduces etcd 3.4, if there is one.
    store_compat: Literal["3.4"] | None = None


_ALL = (
    Divergence(
        id="compaction-drops-tombstone",
        kind="version",
        etcd_34=(
            "compacting at revision R drops a tombstone whose revision is exactly R, so a watch "
            "from R misses that DELETE event; through the KV API both look the same (the key is "
            "absent at R either way)"
        ),
        etcdlite=(
            "keeps the tombstone at exactly R (Store(), compat='3.5'); Store(compat='3.4') "
            "drops it as 3.4 does"
        ),
        reason=(
            "the compaction contract removes revisions *below* R; 3.4 also removed the one at R "
            "when it was a tombstone, losing the delete for watchers resuming at R (the watch "
            "conformance tests show the DELETE missing on etcd 3.4 and present on the Store)"
        ),
        refs=(
            "etcd-io/etcd#18089 (watch dropping an event when compacting on delete)",
            "etcd-io/etcd#18274 (keep tombstone if revision == compactAtRev)",
            "etcd-io/etcd#19179, #19188 (restore the tombstone index on restart)",
        ),
        fixed_in=((3, 4, 34), (3, 5, 15)),
        store_compat="3.4",
    ),
    Divergence(
        id="invalid-sort-option",
        kind="version",
        etcd_34=(
            "accepts a Range whose sort_order is not a known enum value and leaves the result "
            "in key order (an unknown sort_target with a sort order makes 3.4's apply panic, "
            "which is why the suite never sends one)"
        ),
        etcdlite=(
            "rejects an unknown sort_order or sort_target with 'etcdserver: invalid sort "
            "option' (InvalidSortOptionError, InvalidArgument), like etcd 3.6's checkRangeRequest"
        ),
        reason="etcd 3.6 validates the enums before applying instead of panicking on them",
        refs=(
            "etcd-io/etcd#13554 (panic on an invalid sort target)",
            "etcd-io/etcd#13555 (protection code for an invalid sortTarget)",
            "rpctypes.ErrGRPCInvalidSortOption (3.6)",
        ),
        fixed_in=((3, 6, 0),),
    ),
    Divergence(
        id="txn-check-order",
        kind="version",
        etcd_34=(
            "checks a write txn's taken path in two passes, every put first (lease exists, key "
            "exists for ignore_*), then every range revision; a txn with a bad range before a "
            "bad put fails with the put's error (3.5 does the same)"
        ),
        etcdlite=(
            "checks the taken path in one pass, in op order, like etcd 3.6's checkTxn: the "
            "first bad op decides the error"
        ),
        reason=(
            "etcd 3.6 folded checkRequests(checkPut) and checkRequests(checkRange) into one "
            "recursive checkTxn; the set of rejected txns is the same, only the error of a txn "
            "with several bad ops differs"
        ),
        refs=("etcd-io/etcd#16372 (refactor checkTxn into a single function)",),
        fixed_in=((3, 6, 0),),
    ),
    Divergence(
        id="txn-ignore-after-delete",
        kind="crash",
        etcd_34=(
            "a txn that deletes a key with a from-key range and then puts it with ignore_value "
            "or ignore_lease passes validation (checkIntervals never matches a from-key delete, "
            "and checkPut looks at the state before the txn), then panics while applying: "
            "'unexpected error during txn: etcdserver: key not found' (observed by hand on "
            "3.4.23; the member exits)"
        ),
        etcdlite=(
            "refuses the txn with KeyNotFoundError ('etcdserver: key not found', the error etcd "
            "logs before it panics) and changes nothing"
        ),
        reason="a request must never take the store down; the error is the one etcd hit",
        refs=("etcd applyTxn: lg.Panic('unexpected error during txn')",),
    ),
    Divergence(
        id="progress-request-unsynced",
        kind="version",
        etcd_34=(
            "a progress request is answered at once, even while the stream's watchers are still "
            "replaying history: the answer (watch id -1, current revision) can come before "
            "events at lower revisions (observed)"
        ),
        etcdlite="answers once every watcher of the stream has caught up (after those events)",
        reason=(
            "3.4's answer breaks the Bookmarkable guarantee; etcd 3.5 answers only when all the "
            "stream's watchers are synced (it drops the request otherwise; etcdlite keeps it "
            "pending instead, so a caller waiting for the answer is never left hanging)"
        ),
        refs=("etcd server/storage/mvcc/watchable_store.go progressIfSync (3.5+)",),
    ),
    Divergence(
        id="negative-start-revision",
        kind="version",
        etcd_34=(
            "a watch with a negative start revision is created, then canceled with "
            "compact_revision -1 and a header without revision (observed)"
        ),
        etcdlite=(
            "created and canceled at once, watch id -1, cancel_reason 'etcdserver: mvcc: "
            "required revision has been compacted', as etcd 3.6's v3rpc/watch.go does"
        ),
        reason="3.4's answer is an accident of an internal sentinel; 3.6 refuses the request",
        refs=("SEMANTICS.md 2.6 (a negative start in 3.6)", "etcd 3.6 api/v3rpc/watch.go"),
        fixed_in=((3, 6, 0),),
    ),
    Divergence(
        id="progress-request-empty-stream",
        kind="choice",
        etcd_34="a progress request on a stream without watchers is answered",
        etcdlite="answers it too (every watcher of an empty stream is synced)",
        reason=(
            "etcd 3.5+ sends nothing there (no watcher to send it through); answering is what "
            "3.4 does and harmless; registered so nobody 'fixes' it by accident"
        ),
        refs=("etcd server/storage/mvcc/watchable_store.go progressIfSync (3.5+)",),
    ),
    Divergence(
        id="cancel-after-compaction",
        kind="choice",
        etcd_34=(
            "a watcher canceled by compaction keeps its id on the stream until the client "
            "cancels it (a later cancel is answered; a create with that id is a duplicate)"
        ),
        etcdlite=(
            "frees the id with the compaction cancel: a later cancel raises "
            "WatcherNotExistError, and the id can be chosen again"
        ),
        reason="clientv3 never reuses an id; keeping a dead id reserved buys nothing in-process",
        refs=("etcd server/storage/mvcc/watcher.go: watchStream.Cancel removes the id",),
    ),
    Divergence(
        id="grpc-receive-limit",
        kind="transport",
        etcd_34=(
            "a request larger than --max-request-bytes + 512 KiB never reaches etcd: gRPC "
            "refuses it with ResourceExhausted 'grpc: received message larger than max (N vs. "
            "M)' (HTTP 429 through the gateway)"
        ),
        etcdlite=(
            "has no transport in front of the Store: any write larger than max_request_bytes "
            "raises RequestTooLargeError ('etcdserver: request is too large')"
        ),
        reason=(
            "the limit belongs to the gRPC server, not to etcd's semantics; etcdlite's own gRPC "
            "face will reproduce it"
        ),
        refs=("SEMANTICS.md 2.12 (observed on 3.4.23)", "etcd embed: MaxRecvMsgSize"),
    ),
    Divergence(
        id="keepalive-unknown-lease",
        kind="transport",
        etcd_34=(
            "the LeaseKeepAlive stream answers a request for a lease that does not exist (never "
            "granted, revoked or expired) with TTL 0, omitted in JSON, and no error (observed on "
            "the gateway's /v3/lease/keepalive); clientv3's KeepAliveOnce turns that answer into "
            "ErrLeaseNotFound"
        ),
        etcdlite=(
            "Store.keep_alive_once (clientv3 KeepAliveOnce) raises LeaseNotFoundError "
            "('etcdserver: requested lease not found'); the conformance driver makes the same "
            "translation of etcd's TTL 0, and the wire answer is checked on its own"
        ),
        reason=(
            "the Store has clientv3's API, not the wire's: the TTL 0 answer only exists on the "
            "stream, and every client turns it into 'lease not found'; etcdlite's own gRPC face "
            "must answer TTL 0 on the stream"
        ),
        refs=(
            "SEMANTICS.md 2.7 (KeepAlive on an unknown lease, observed on 3.4.23)",
            "etcd etcdserver/api/v3rpc/lease.go leaseKeepAlive (ErrLeaseNotFound -> TTL 0)",
            "etcd clientv3/lease.go KeepAliveOnce (TTL <= 0 -> ErrLeaseNotFound)",
        ),
    ),
    Divergence(
        id="lease-revoke-rate",
        kind="choice",
        etcd_34=(
            "the leader looks for expired leases every 500 ms and revokes at most 1,000 of them "
            "per second (leaseRevokeRate), each revocation a raft proposal; many leases expiring "
            "together are revoked over several seconds"
        ),
        etcdlite=(
            "revokes every lease whose deadline has passed as soon as the store's clock timer "
            "fires (or the next lease call finds it due), each at its own revision, in deadline "
            "order; nothing is rate-limited"
        ),
        reason=(
            "the rate limit protects a raft cluster from a burst of proposals; an in-process "
            "store has no such cost, and TTL stays a lower bound on a lease's life either way "
            "(etcd only ever revokes later, never earlier)"
        ),
        refs=(
            "SEMANTICS.md 2.7 (Limits and rates: leaseRevokeRate 1000/s)",
            "etcd lease/lessor.go (leaseRevokeRate, revokeExpiredLeases)",
        ),
    ),
    Divergence(
        id="status-stand-ins",
        kind="choice",
        etcd_34=(
            "Maintenance.Status reports the server's version (3.4.23), the bbolt file's size "
            "(dbSize, dbSizeInUse) and raft's log position (raftIndex, raftAppliedIndex), which "
            "counts every raft entry: writes, lease grants and revokes, member changes"
        ),
        etcdlite=(
            "Store.status() (and so etcdlite serve) reports the etcd version the Store's "
            "compat profile follows ('3.5.0', or '3.4.23' with compat='3.4'), the Store's "
            "size estimate as dbSize and dbSizeInUse (see db-size-estimate) and the store "
            "revision as raftIndex and raftAppliedIndex; leader, raftTerm and the header are "
            "etcd's"
        ),
        reason=(
            "an in-memory single member has no bbolt file and no raft log; the etcdctl "
            "conformance session drops these fields before comparing"
        ),
        refs=("SEMANTICS.md 2.10 (Status)",),
    ),
    Divergence(
        id="grpc-receive-limit-text",
        kind="transport",
        etcd_34=(
            "an oversize request is refused by Go's gRPC with ResourceExhausted 'grpc: received "
            "message larger than max (N vs. M)'"
        ),
        etcdlite=(
            "etcdlite serve refuses it at the same size (max_request_bytes + 512 KiB) with "
            "ResourceExhausted from Python's gRPC core, whose text reads 'Received message "
            "larger than max (N vs. M)'"
        ),
        reason="the text is the gRPC implementation's, not etcd's; code and limit are the same",
        refs=("SEMANTICS.md 2.12",),
    ),
    # -- the backend quota, alarms and auto-compaction (test_quota.py) ----------------------
    Divergence(
        id="db-size-estimate",
        kind="choice",
        etcd_34=(
            "dbSize is the bbolt file's page count times 4 KiB (20,480 for a fresh member), "
            "dbSizeInUse what of it is not free; the quota check (size + cost < quota) reads "
            "the size the last backend commit left, so a burst of puts can take dbSize past "
            "--quota-backend-bytes before one is refused"
        ),
        etcdlite=(
            "db_size and db_size_in_use are an estimate of what the backend would hold: 64 "
            "bytes plus key and value per stored revision (puts and tombstones), 64 per live "
            "lease; compaction and revokes free from db_size_in_use, defragment brings db_size "
            "down to it; the check uses the exact estimate, so a fresh store reports 0 and "
            "puts are refused at a different count than on etcd"
        ),
        reason=(
            "an in-memory store has no file; the estimate is cheap to keep on the write path "
            "and moves the way etcd's numbers move. The conformance tests compare behaviour "
            "(which calls fail, with which error, and the alarm list), not byte counts"
        ),
        refs=("SEMANTICS.md 2.10 (Status), 6.4 (--quota-backend-bytes)", "etcd quota.go"),
    ),
    Divergence(
        id="nospace-nested-txn-put",
        kind="choice",
        etcd_34=(
            "a txn's quota cost counts only the puts directly in its branches, so while the "
            "NOSPACE alarm is raised a put inside a nested txn is applied"
        ),
        etcdlite="a nested txn's puts count too: the txn fails with NoSpaceError",
        reason="the alarm exists to stop the backend from growing; a nested put would grow it",
        refs=("etcd server/etcdserver/quota.go costTxnReq", "SEMANTICS.md 2.10 (Alarm)"),
    ),
    Divergence(
        id="alarm-activate-none",
        kind="crash",
        etcd_34=(
            "Alarm ACTIVATE with alarm NONE and memberID 0 kills etcd ('mvcc/backend: cannot "
            "put key into bucket (key required)'); for another member it stores a NONE alarm"
        ),
        etcdlite="activating NONE raises nothing: the response lists no alarm",
        reason="NONE is not an alarm (it means 'every type' when listing)",
        refs=("etcd server/etcdserver/apply.go Alarm", "etcd api/v3alarm/alarms.go"),
    ),
    Divergence(
        id="auto-compaction-retention-range",
        kind="crash",
        etcd_34=(
            "a periodic --auto-compaction-retention under 10ns (e.g. '5ns') panics at start "
            "(integer division by zero); a negative duration (e.g. '-1h') is accepted and the "
            "periodic compactor then compacts in a tight loop"
        ),
        etcdlite=(
            "Store(auto_compaction_retention=...) raises ValueError for both; etcd's own "
            "errors (unknown mode, unparsable retention) keep etcd's text"
        ),
        reason="neither value can mean anything useful",
        refs=("etcd server/etcdserver/api/v3compactor/periodic.go", "SEMANTICS.md 6.2 (011)"),
    ),
    Divergence(
        id="corrupt-disarm-lifts-nospace",
        kind="choice",
        etcd_34=(
            "each alarm change swaps one 'applier': disarming CORRUPT restores the normal one "
            "even while a NOSPACE alarm is still raised, so puts work again"
        ),
        etcdlite=(
            "what is refused follows the set of raised alarms: puts stay refused while any "
            "NOSPACE alarm is raised"
        ),
        reason="the alarm list says NOSPACE; the store should behave as it says",
        refs=("etcd server/etcdserver/apply.go Alarm (DEACTIVATE)",),
    ),
    Divergence(
        id="alarm-defragment-header",
        kind="choice",
        etcd_34=(
            "the Alarm and Defragment responses carry no header (the gateway answers "
            '{"alarms": [...]} and {})'
        ),
        etcdlite="they carry the store's header, as every other response",
        reason="a header costs nothing and clients that read it get the member and revision",
        refs=("SEMANTICS.md 2.10 (Alarm)",),
    ),
    Divergence(
        id="member-add-single-member",
        kind="choice",
        etcd_34=(
            "MemberAdd on a single-member cluster is accepted: the new member is listed as "
            "unstarted and the cluster has lost its quorum, so every later write times out"
        ),
        etcdlite=(
            "etcdlite serve refuses it with etcd's 'etcdserver: re-configuration failed due to "
            "not enough started members' (code UNKNOWN), and keeps serving"
        ),
        reason=(
            "an embedded store is one process: a second member could never start, so "
            "accepting would only make the server unusable"
        ),
        refs=("etcd server/etcdserver/server.go AddMember",),
    ),
    # -- the JSON gateway (tests/server/test_gateway.py) -------------------------------------
    Divergence(
        id="gateway-json-messages",
        kind="transport",
        etcd_34=(
            "a body that is not JSON, or a field of the wrong JSON type or an unknown enum name, "
            "is refused with code 3 (HTTP 400) and Go's decoder message, e.g. 'unexpected EOF' "
            "or 'json: cannot unmarshal string into Go value of type bool'"
        ),
        etcdlite=(
            "the same refusal (code 3, HTTP 400) with Python's message ('Failed to parse "
            "keys_only field: ...', or the json module's); bad base64, a top-level non-object "
            "and a body cut short give Go's text"
        ),
        reason="the text comes from the JSON decoder of each implementation; no client parses it",
        refs=("SEMANTICS.md 3 (Encoding)",),
    ),
    Divergence(
        id="gateway-hashkv-path",
        kind="choice",
        etcd_34=(
            "/v3/maintenance/hashkv answers 404 (the 3.4 proto gives HashKV the path of Hash, "
            "and Hash answers /v3/maintenance/hash)"
        ),
        etcdlite=(
            "/v3/maintenance/hashkv serves HashKV, as etcd 3.5 does; /v3/maintenance/hash is "
            "Hash (not implemented: 501, as over gRPC)"
        ),
        reason="3.4's 404 is a proto annotation bug fixed in 3.5; serving the call is harmless",
        refs=("SEMANTICS.md 2.10 (Hash and HashKV)", "etcd-io/etcd#11263"),
        fixed_in=((3, 5, 0),),
    ),
    Divergence(
        id="auth-calls-without-identity",
        kind="version",
        etcd_34=(
            "with auth on, LeaseGrant, LeaseLeases, LeaseTimeToLive, Status, MemberList and "
            "even Compact answer a caller with no token (observed on 3.4.23)"
        ),
        etcdlite=(
            "the lease calls, Status and MemberList need an authenticated user ('etcdserver: "
            "user name is empty' without one); LeaseRevoke and keep-alives need WRITE on every "
            "key of the lease; Compact, Alarm, Defragment, HashKV, Snapshot, MoveLeader and "
            "the member changes need the root role"
        ),
        reason="closes the unauthenticated-RPC holes of CVE-2026-33413 as current etcd does",
        refs=("CVE-2026-33413", "GHSA-q8m4-xhhv-38mg", "SEMANTICS.md 6.3"),
    ),
    Divergence(
        id="auth-lease-ttl-keys",
        kind="version",
        etcd_34=(
            "LeaseTimeToLive with keys=true lists the names of the lease's keys to any caller"
        ),
        etcdlite="keys=true needs READ on every key attached to the lease",
        reason="the lease's keys leaked names the caller may not read",
        refs=("CVE-2023-32082", "GHSA-3p4g-rcw5-8298", "etcd-io/etcd#15656"),
        fixed_in=((3, 4, 26), (3, 5, 9)),
    ),
    Divergence(
        id="auth-nested-txn",
        kind="version",
        etcd_34=(
            "the ops of a txn nested in a txn are not checked: a user may write (and read) "
            "outside its permissions through one"
        ),
        etcdlite=(
            "every compare and every op of both branches is checked, at every depth, as a "
            "top-level request"
        ),
        reason="a nested txn bypassed RBAC",
        refs=("CVE-2026-33343", "GHSA-rfx7-8w68-q57q"),
    ),
    Divergence(
        id="auth-txn-put-checks",
        kind="version",
        etcd_34=(
            "a put inside a txn is checked for WRITE on its key only: with prev_kv a "
            "write-only user reads the old value back, and with a lease it attaches keys to a "
            "lease whose other keys the user may not write (alone, the same puts are refused)"
        ),
        etcdlite="a put in a txn is checked as a put alone: READ too with prev_kv, WRITE on "
        "every key of its lease",
        reason="the txn path skipped the prev_kv and lease checks of a put",
        refs=("CVE-2026-44283", "GHSA-x35m-3gp4-4fh5"),
    ),
    Divergence(
        id="auth-watch-from-key",
        kind="version",
        etcd_34=(
            "a watch from a key to the end of the keyspace (range_end \\0) is checked as a "
            "watch of that one key: a user who may read only it sees every later key change"
        ),
        etcdlite=(
            "the watch needs READ over the whole range, to the end; a refused create is "
            "answered as 3.4 answers one (created, canceled, watch id -1, the error in "
            "cancel_reason)"
        ),
        reason="the from-key watch leaked every key after the permitted one",
        refs=("GHSA-xg4h-6gfc-h4m8",),
    ),
    Divergence(
        id="auth-bad-token-everywhere",
        kind="choice",
        etcd_34=(
            "a token the server never issued is refused ('etcdserver: invalid auth token', "
            "code 16) by KV, Auth, LeaseGrant and Watch creates, auth on or off, but Status, "
            "MemberList, LeaseLeases and LeaseTimeToLive answer it"
        ),
        etcdlite="every call refuses it the same way, auth on or off",
        reason="one rule for every call; the calls 3.4 answers are the ones it did not check",
        refs=("SEMANTICS.md 6.1 (bad-token behaviour)", "etcd auth/store.go AuthInfoFromCtx"),
    ),
    Divergence(
        id="auth-status-rpc",
        kind="version",
        etcd_34=(
            "Auth.AuthStatus does not exist (UNIMPLEMENTED; the gateway has no /v3/auth/status)"
        ),
        etcdlite=(
            "AuthStatus answers whether auth is on and the auth revision, over gRPC and at "
            "/v3/auth/status, to any caller whose token (if any) is valid"
        ),
        reason="etcd 3.5 added the call; answering it costs nothing",
        refs=("etcd-io/etcd#11536",),
        fixed_in=((3, 5, 0),),
    ),
    Divergence(
        id="gateway-body-limit",
        kind="transport",
        etcd_34=(
            "the gateway reads a request body of any size, then gRPC refuses a message over "
            "max-request-bytes + 512 KiB (code 8, HTTP 429, 'grpc: received message larger "
            "than max (N vs. M)')"
        ),
        etcdlite=(
            "the same refusal for a decoded message over the limit; a body over twice the "
            "limit is refused unread (code 8, HTTP 429, 'etcdlite: request body larger than "
            "max (N vs. M)') and its connection closed"
        ),
        reason="reading an unbounded body into memory is a denial of service; no valid request "
        "needs more than twice the limit in JSON (base64 is 4/3 of the bytes)",
        refs=("SEMANTICS.md 2.12, 6.4",),
    ),
    Divergence(
        id="gateway-http-framing",
        kind="transport",
        etcd_34=(
            "Go's HTTP server frames the answers: an error from the server comes chunked with a "
            "'Trailer: Grpc-Trailer-Content-Type' trailer, responses carry no Server header, "
            "and a stream that ended with an error leaves its connection open"
        ),
        etcdlite=(
            "the same status, headers that matter (Content-Type, the CORS ones) and body "
            "bytes, framed by Python's http.server: errors with Content-Length and no trailer, "
            "a 'Server: etcdlite' header, and every stream closes its connection when it ends; "
            "Python's header limits (a header line over 64 KiB or more than 100 headers get "
            "431, where Go takes about 1 MB) and a request without Host accepted (Go: 400)"
        ),
        reason="HTTP framing of the same bytes; clients read bodies the same way either way",
        refs=("SEMANTICS.md 3",),
    ),
    Divergence(
        id="gateway-json-depth",
        kind="transport",
        etcd_34=(
            "Go's JSON decoder accepts nesting up to 10,000 levels: a txn nested 3,000 deep is "
            "answered"
        ),
        etcdlite=(
            "Python's stack bounds the decoding near 1,000 levels: deeper JSON is refused with "
            "400, code 3, 'exceeded max depth', and the server keeps serving"
        ),
        reason="no client nests requests that deep; a bounded refusal beats a crashed thread",
        refs=("tests/server/test_fuzz_gateway.py (found by the fuzzer)",),
    ),
)

#: Every registered divergence, by id.
DIVERGENCES: dict[str, Divergence] = {d.id: d for d in _ALL}


def divergence(id: str) -> Divergence:
    """The registered divergence ``id`` (a KeyError names an unregistered one)."""
    return DIVERGENCES[id]


def etcd_has(id: str, version: tuple[int, int, int]) -> bool:
    """Whether etcd ``version`` already has the new behaviour of divergence ``id``.

    >>> etcd_has("compaction-drops-tombstone", (3, 4, 23))
    False
    >>> etcd_has("compaction-drops-tombstone", (3, 5, 21)), etcd_has("invalid-sort-option", (3, 5, 21))
    (True, False)
    """
    d = DIVERGENCES[id]
    for fixed in d.fixed_in:
        if version[:2] == fixed[:2]:
            return version >= fixed
    return any(version >= fixed for fixed in d.fixed_in) and bool(d.fixed_in)
