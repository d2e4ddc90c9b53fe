import { aws_ec2 as ec2 } from 'aws-cdk-lib';

/** Options of {@link defaultServerUserData}. */
export interface DefaultServerOptions {
  /** Service name, shown in responses. */
  readonly serviceName: string;
  /** Port to listen on. */
  readonly port: number;
  /** Path that answers 200 for health checks. */
  readonly healthCheckPath: string;
}

/**
 * User data for a tiny HTTP server (Python's standard library, present on Amazon Linux 2023) that
 * answers the health path with 200 and every other path with the service name and instance id, run
 * by systemd. It makes the reference app deployable end to end; replace it with your application.
 *
 * A real application keeps the web tier stateless: sessions live in the cache tier, never on the
 * instance, so any instance can serve any request and scale-in loses nothing. The fleet is granted the
 * cache's SSM parameters under `<prefix>/cache/` (`GetParametersByPath`; the reference app's prefix is
 * `/<name>`): `endpoint` (cluster-mode configuration endpoint), `port`, `tls` (`required`: connect with
 * TLS), `auth-mode` (`rbac` or `auth-token`), `username` (RBAC only) and `secret-arn` (a Secrets
 * Manager secret whose JSON holds `password`). Use a cluster-aware client, e.g. a Redis/Valkey session
 * store with `cluster: true, tls: true`, keys with a TTL, and hash tags (`{session}:<id>`) only where
 * several keys must share a shard.
 */
export function defaultServerUserData(opts: DefaultServerOptions): ec2.UserData {
  const userData = ec2.UserData.forLinux();
  const server = [
    'import http.server, json, os, socketserver, urllib.request',
    `PORT = ${opts.port}`,
    `HEALTH = ${JSON.stringify(opts.healthCheckPath)}`,
    `SERVICE = ${JSON.stringify(opts.serviceName)}`,
    'def instance_id():',
    '    try:',
    '        tok = urllib.request.urlopen(urllib.request.Request("http://169.254.169.254/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}), timeout=2).read().decode()',
    '        return urllib.request.urlopen(urllib.request.Request("http://169.254.169.254/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": tok}), timeout=2).read().decode()',
    '    except Exception:',
    '        return "unknown"',
    'INSTANCE = instance_id()',
    'class Handler(http.server.BaseHTTPRequestHandler):',
    '    def do_GET(self):',
    '        body = b"ok" if self.path == HEALTH else json.dumps({"service": SERVICE, "instance": INSTANCE, "path": self.path}).encode()',
    '        self.send_response(200)',
    '        self.send_header("Content-Type", "text/plain" if self.path == HEALTH else "application/json")',
    '        self.send_header("Cache-Control", "no-store")',
    '        self.send_header("Content-Length", str(len(body)))',
    '        self.end_headers()',
    '        self.wfile.write(body)',
    '    def log_message(self, *args):',
    '        pass',
    'socketserver.ThreadingTCPServer.allow_reuse_address = True',
    'socketserver.ThreadingTCPServer(("", PORT), Handler).serve_forever()',
  ].join('\n');
  userData.addCommands(
    'set -euo pipefail',
    'mkdir -p /opt/s2m',
    `cat > /opt/s2m/server.py <<'PY'\n${server}\nPY`,
    `cat > /etc/systemd/system/s2m-server.service <<'UNIT'\n[Unit]\nDescription=scale-to-millions placeholder server (${opts.serviceName})\nAfter=network-online.target\n\n[Service]\nExecStart=/usr/bin/python3 /opt/s2m/server.py\nRestart=always\nUser=nobody\n\n[Install]\nWantedBy=multi-user.target\nUNIT`,
    'systemctl daemon-reload',
    'systemctl enable --now s2m-server.service',
  );
  return userData;
}
