/** --help texts of the commands that talk to a running shadowtap, and which command does each API operation. */

const CONNECT = `connection (every command here):
      --url URL       the admin API (default: $SHADOWTAP_URL, else url: in
                      ~/.config/shadowtap/cli.yaml, else http://127.0.0.1:9465)
      --token TOKEN   sent as "Authorization: Bearer TOKEN" (default:
                      $SHADOWTAP_TOKEN, else token: or token_file: in the file)
      --json          the API's JSON instead of a table
  -h, --help          this text`;

const EXITS = `exit status: 0 ok, 1 refused or failed (the API's code and message are
printed), 2 usage, 3 the API cannot be reached, 4 not found, 5 not allowed
(401/403: give a token with the right role).`;

export const LIVE_HELP: Record<string, string> = {
  status: `usage: shadowtap status [--url URL] [--token TOKEN] [--json]

The running shadowtap's data plane: its state, pid, uptime, restarts, last
error, mirror totals, and each port with its counters (GET /v1/status).

${CONNECT}

exit status: 0 the data plane is running, 1 it is not (starting, backoff,
failed, stopped; the state is printed), 2 usage, 3 the API cannot be reached,
5 not allowed.

examples:
  shadowtap status
  shadowtap status --json | jq .restarts
  SHADOWTAP_URL=http://10.0.0.5:9465 shadowtap status
`,
  health: `usage: shadowtap health [--url URL] [--json]

Liveness (GET /healthz: the supervisor answers) and readiness (GET /readyz:
the data plane runs; otherwise why not).

${CONNECT}

exit status: 0 live and ready, 1 not ready (the reason is printed), 3 the API
cannot be reached.

example:
  until shadowtap health; do sleep 1; done
`,
  metrics: `usage: shadowtap metrics [--match TEXT] [--url URL]

The Prometheus exposition (GET /metrics), read from the data plane now;
--match keeps the lines containing TEXT.

${CONNECT}

${EXITS}

example:
  shadowtap metrics --match shadowtap_mirror_
`,
  counters: `usage: shadowtap counters [--url URL] [--json]

Per port (rx, tx, tx dropped, NIC imissed) and per session (matched, sampled,
mirrored packets and bytes, dropped) counters, monotonic across data-plane
restarts (GET /v1/ports, GET /v1/sessions).

${CONNECT}

${EXITS}

examples:
  shadowtap counters
  watch -n1 shadowtap counters
  shadowtap counters --json | jq '.sessions.sessions[] | {id, mirroredPackets}'
`,
  reliability: `usage: shadowtap reliability [show | clear-forward-only] [--url URL] [--token TOKEN] [--json]

What the running shadowtap knows of data-plane crashes (GET /v1/reliability):
forward-only (on after a crash loop: no shadow work until cleared), the packet
signatures in quarantine, and each crash the flight recorder reported: when,
signal, stage, the packet (a summary and where it was saved), and how long
production was interrupted. clear-forward-only ends forward-only (POST
/v1/reliability/forward-only/clear): shadow work resumes. docs/reliability.md.

${CONNECT}

${EXITS}

examples:
  shadowtap reliability
  shadowtap reliability clear-forward-only
  tshark -r "$(shadowtap reliability --json | jq -r '.crashes[-1].capture')" -V
`,
  ports: `usage: shadowtap ports [--url URL] [--json]

Every port: device, the driver DPDK reported, its hw-profile and how it was
matched, how many rte_flow probes were applied (0: the profile's facts only),
where the plan places its work, rx/tx packets; and where a probe disagreed
with the profile (GET /v1/ports).

${CONNECT}

${EXITS}

example:
  shadowtap ports
`,
  profiles: `usage: shadowtap profiles [FAMILY...] [--url URL] [--json]

The hw-profiles the running shadowtap matches ports against (GET
/v1/profiles): family, kind, drivers, rte_flow items and actions. With
FAMILY, only those (--json: the whole profile).

${CONNECT}

${EXITS}

examples:
  shadowtap profiles
  shadowtap profiles mlx5 --json | jq .capabilities.actions
`,
  events: `usage: shadowtap events [--follow] [--after ID] [--url URL] [--json]

The event feed (GET /v1/events, server-sent events): data-plane state
changes, restarts, exits and failures, policy generations, offload
programming and fallbacks to software. Without --follow: the events the
supervisor keeps (its last 512), then exit. With --follow: only new events
(or those after ID), printed as they happen until interrupted (Ctrl-C).

options:
  -f, --follow        keep the stream open and print events as they come
      --after ID      start after event ID (replayed from what is kept)
${CONNECT}

${EXITS}

examples:
  shadowtap events
  shadowtap events --follow
  shadowtap events -f --json | jq -c 'select(.type == "restarting")'
`,
  openapi: `usage: shadowtap openapi [--html] [--url URL]

The admin API's OpenAPI 3.1 document (GET /v1/openapi.json): every route
with its parameters, body and answers. --html: the same as a page (GET
/v1/docs).

${CONNECT}

example:
  shadowtap openapi | jq '.paths | keys'
`,
  sessions: `usage: shadowtap sessions list
       shadowtap sessions show ID
       shadowtap sessions add FILE | --id N [--target NAME] [--priority N]
                                     [--description TEXT] [--disabled]
       shadowtap sessions update ID FILE
       shadowtap sessions enable ID
       shadowtap sessions disable ID
       shadowtap sessions rm ID
       (each with [--url URL] [--token TOKEN] [--json])

Mirror sessions of the running policy, one at a time. Each change applies
the whole resulting policy as \`policy apply\` does: checked, installed while
traffic flows, saved; nothing changes if it fails. A disabled session stays
in the policy (enabled: false, its definition kept) and mirrors nothing
until enabled. rm of the last session leaves sessions: [] (nothing is
mirrored). Each change sends back the ETag it read (If-Match): if someone
changed the policy in between, it is refused and nothing changes.

  list     every session: enabled, priority, target, matched, mirrored
  show     one session: its rules and counters (per rule hits)
  add      a new session from FILE (YAML or JSON, one session) or options
  update   replace session ID with FILE's definition
  enable, disable, rm

${CONNECT}

${EXITS}

examples:
  shadowtap sessions list
  shadowtap sessions add --id 7 --target remote --description "web tier"
  shadowtap sessions disable 7 && shadowtap sessions enable 7
  shadowtap sessions show 7 --json | jq .counters.mirroredPackets
`,
  maps: `usage: shadowtap maps export [--url URL] [--json]
       shadowtap maps import FILE [--url URL] [--json]

The address maps (the translate section; docs/policy.md). export prints the
maps in force (GET /v1/maps); import replaces them with FILE's (a translate
section, or a file with a translate key; PUT /v1/maps). Identity, chained
and colliding maps are refused, each problem with its field, unless the map
says allow: [kind].

${CONNECT}

${EXITS}

examples:
  shadowtap maps export > maps.yaml
  shadowtap maps import maps.yaml
`,
  config: `usage: shadowtap config validate FILE
       shadowtap config export [--url URL] [--json]
       shadowtap config import FILE [--url URL] [--json]

  validate  check FILE offline, as \`shadowtap run\` would load it (the same
            as check-config): every problem with its field path and line
  export    the running configuration, defaults filled, the policy as last
            applied (GET /v1/config), as YAML (--json: JSON)
  import    apply FILE (PUT /v1/config): its policy keys change live; any
            other key that differs from the running one (ports, EAL, API,
            run_dir) needs a restart and is refused, naming the key

${CONNECT}

exit status: 0 ok (validate: valid), 1 invalid or refused, 2 usage, 3 the
API cannot be reached, 5 not allowed.

examples:
  shadowtap config validate /etc/shadowtap/config.yaml
  shadowtap config export > running.yaml
  shadowtap config import running.yaml
`,
  fault: `usage: shadowtap fault <add|list|show|start|stop|rm|dry-run|timeline> [options]

Failure injection on the shadow path (docs/faults.md): a fault selects shadow
copies with a match and impairs them the way netem does; production traffic
is never touched. Over the admin API (/v1/faults).

  add ID [--match WORDS] [--kind KIND] [schedule] [--start] [--] NETEM...
            define a fault; its impairments in netem's own syntax after the
            id (tc qdisc ... netem ...). With a schedule it starts at once;
            --start arms one without a schedule now (until stopped)
  add -f FILE
            define a fault from a YAML/JSON document (docs/faults.md)
  list      every fault: kind, state, experiment, armed since, counters
  show ID   one fault: definition, state, schedule, flags, counters
  start ID  run its schedule from now (armed until stopped without one)
  stop ID   disarm it now; its schedule ends
  rm ID     delete it (disarmed first)
  dry-run ID | dry-run ID --match WORDS [--] NETEM... | dry-run -f FILE
            what it would match, measured on live traffic for --window ms
            (default 1000) before it is armed
  timeline [ID]
            every activation, deactivation, start, stop, abort and hook,
            with when it took effect and how late that was

options of add:
  -m, --match WORDS   tc filter's words: src|dst|host PREFIX (repeatable),
                      proto tcp|udp|N, sport|dport N[-M], session ID,
                      port SHADOW-PORT, direction rx|tx|any, and "shadow"
                      when the prefixes are shadow addresses
      --kind KIND     impair (default), blackhole (a VM or prefix delivers
                      nothing), link_down (--match 'port P')
      --at TIME       start at an ISO 8601 time (default: now)
      --duration T    armed this long (20s, 5min, 1h)
      --every T       repeat: armed for --duration every T
      --times K       that many times (default: until stopped)
      --end TIME      no later than this ISO 8601 time
      --seed N        the fault's seed (same seed, same decisions)
      --description TEXT
      --start         start a fault without a schedule at once

${CONNECT}

${EXITS}

examples:
  shadowtap fault add web --match 'dst 10.0.2.0/24' -- delay 20ms 5ms 25% distribution normal loss gemodel 1% 10% 70% 0.1%
  shadowtap fault add vm17 --kind blackhole --match 'host 10.0.5.17' --duration 30s
  shadowtap fault add flaky --match 'proto udp' --every 1min --duration 10s --times 5 -- loss 20%
  shadowtap fault dry-run web
  shadowtap fault start web; shadowtap fault stop web
  shadowtap fault timeline web
`,
  experiment: `usage: shadowtap experiment <run|list|show|stop|rm|timeline|report|reports> [options]

An experiment is a named set of faults run as ordered steps, guarded by stop
conditions on shadowtap's own metrics (docs/faults.md). Over the admin API
(/v1/experiments).

  run FILE [--replace]
            define the experiment in FILE (YAML/JSON), start it and follow
            it: the step, each fault armed (*) with its matched/dropped
            counters, every timeline entry as it happens; --json prints one
            JSON line per change. ^C stops it (every fault disarmed).
            --replace replaces an experiment of the same id that is not
            running
  list      every experiment: state, step, abort reason
  show ID   where it stands
  stop ID   stop it: every fault of it disarmed now
  rm ID     delete it and its faults (not while it runs)
  timeline ID
            its starts, activations, deactivations, hooks and abort
  report ID [--out FILE] [--format html|json]
            the report written when the experiment ended (ID: a report id
            or an experiment id, its newest report): impact table, steady-
            state verdicts, charts; JSON to stdout, or to FILE (HTML unless
            FILE ends in .json or --format json)
  reports [ID]
            every report (of experiment ID): significant changes, violated
            verdicts, abort

${CONNECT}

exit status: run: 0 the experiment completed, 1 it was aborted by a stop
condition (the reason is printed) or refused, 130 interrupted (stopped);
others as every command: 2 usage, 3 the API cannot be reached, 4 not found,
5 not allowed.

examples:
  shadowtap experiment run vm17-outage.yaml
  shadowtap experiment report vm17-outage --out vm17-outage.html
`,
    alerts: `usage: shadowtap alerts list                      alerts pending and firing now
       shadowtap alerts rules                     every rule with its state
       shadowtap alerts show NAME
       shadowtap alerts set NAME FILE | --expr EXPR --op OP --threshold N
                              --severity info|warning|critical [--for 30s]
                              [--summary TEXT]
       shadowtap alerts check NAME [FILE | options as for set]
       shadowtap alerts apply FILE                replace every rule (rules: [...])
       shadowtap alerts rm NAME
       shadowtap alerts export                    as a Prometheus rule file
       (each with [--url URL] [--token TOKEN] [--json])

Threshold alerts over the supervisor's own series (1 s resolution, the last
hour): EXPR is a PromQL subset (rate, increase, *_over_time,
quantile_over_time, histogram_quantile, sum/avg/min/max/count by, + - * /),
OP one of > >= < <= == !=. An alert fires once the condition has held for
--for, and resolves when it stops holding; both go to the event feed
(\`shadowtap events\`) and to /metrics. Rules are kept across restarts
(run_dir/state/alerts.json). Each change sends back the revision it read
(If-Match): if someone changed the rules in between, it is refused.
check evaluates a rule now without saving it. docs/alerts.md.

${CONNECT}

${EXITS}

examples:
  shadowtap alerts set ShadowDrops --expr 'sum(rate(shadowtap_port_tx_dropped_total{port="shadow0"}[30s]))' \\
      --op '>' --threshold 100 --for 1m --severity warning
  shadowtap alerts list
  shadowtap alerts export > shadowtap-alerts.yml && promtool check rules shadowtap-alerts.yml
`,
  dashboard: `usage: shadowtap dashboard [--url URL]

Prints the dashboard's address (GET /dashboard/ on the admin API, checked
to answer): live charts of production and shadow rates from the
supervisor's series with fault windows shaded, faults and experiments with
start, stop and dry-run controls (start and stop need an admin token), the
fault timeline, ports and profiles, the placement plan, sessions, alerts,
detections and events. Open it in a browser; with API tokens configured it
asks for one once (kept for the tab only), or take it in the address as
#token=TOKEN (the part after # never reaches the server). docs/dashboard.md.

${CONNECT}

${EXITS}

example:
  xdg-open "$(shadowtap dashboard)"
`,
  query: `usage: shadowtap query EXPR [--range 10m [--step S]] [--url URL] [--token TOKEN] [--json]
       shadowtap query --list

Evaluate EXPR (the PromQL subset of docs/alerts.md) over the supervisor's
in-memory series: now (GET /v1/series/query), or at every step over the
last --range (GET /v1/series/query_range; --step in seconds, default: a
hundredth of the range, at least 1). --list: the metric names held and
their series counts (GET /v1/series). A bad expression is refused naming
its position and what was expected.

${CONNECT}

${EXITS}

examples:
  shadowtap query 'sum by (role) (rate(shadowtap_port_tx_packets_total[10s]))'
  shadowtap query 'rate(shadowtap_mirror_packets_total[5s])' --range 5m
`,
  'exit-codes': `exit statuses of shadowtap commands:
  0  ok
  1  refused, invalid or failed (the reason is printed); policy diff: the
     policies differ; status: the data plane is not running
  2  usage (an unknown command or option, a missing argument)
  3  the admin API cannot be reached
  4  not found (no such session, profile or route)
  5  not allowed (401/403: a token, or a token with the right role)
  run: 3 also when a shadow capture reached --max-capture-mb
`,
};

export { API_COMMANDS } from '../api/cli-commands.js';
