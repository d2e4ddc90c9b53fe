import { HEALTH_PATHS } from '../../lib/runtime/contract';
import { ApplicationSource } from '../fleet/application-source';

/** Options of {@link placeholderServer}. */
export interface PlaceholderServerOptions {
  /** Service name, shown in responses. */
  readonly serviceName: string;
  /** Path that answers 200 for health checks. @default '/health' */
  readonly healthCheckPath?: string;
  /** The deep health path Route 53 checks, which answers 200 too. @default '/health/deep' (`HEALTH_PATHS.deep`) */
  readonly deepHealthCheckPath?: string;
}

/**
 * A tiny HTTP server (Python's standard library, present on Amazon Linux 2023) that answers the health path
 * (`S2M_HEALTH_PATH`) and the deep health path (`S2M_DEEP_HEALTH_PATH`) with 200 and every other path with the
 * service name, instance id and version: what a web service runs until it is given an application, so a first
 * deploy works end to end. It listens on `S2M_PORT` from the environment file and stops on SIGTERM.
 *
 * A real application keeps the web tier stateless (sessions in the cache tier, never on the instance) and
 * learns its endpoints through the runtime SDK from the parameters under `S2M_PARAMETER_PREFIX`.
 */
export function placeholderServer(opts: PlaceholderServerOptions): ApplicationSource {
  const server = [
    'import http.server, json, os, signal, socketserver, sys, urllib.request',
    'PORT = int(os.environ.get("S2M_PORT", "8080"))',
    `HEALTH = os.environ.get("S2M_HEALTH_PATH", ${JSON.stringify(opts.healthCheckPath ?? HEALTH_PATHS.shallow)})`,
    `DEEP = os.environ.get("S2M_DEEP_HEALTH_PATH", ${JSON.stringify(opts.deepHealthCheckPath ?? HEALTH_PATHS.deep)})`,
    `SERVICE = os.environ.get("S2M_SERVICE", ${JSON.stringify(opts.serviceName)})`,
    'VERSION = os.environ.get("S2M_APP_VERSION", "unknown")',
    'def instance_id():',
    '    try:',
    '        tok = urllib.request.urlopen(urllib.request.Request("http://169.254.169.254/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}), timeout=2).read().decode()',
    '        return urllib.request.urlopen(urllib.request.Request("http://169.254.169.254/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": tok}), timeout=2).read().decode()',
    '    except Exception:',
    '        return "unknown"',
    'INSTANCE = instance_id()',
    'class Handler(http.server.BaseHTTPRequestHandler):',
    '    def do_GET(self):',
    '        health = self.path.split("?")[0] in (HEALTH, DEEP)',
    '        body = b"ok" if health else json.dumps({"service": SERVICE, "instance": INSTANCE, "version": VERSION, "path": self.path}).encode()',
    '        self.send_response(200)',
    '        self.send_header("Content-Type", "text/plain" if health else "application/json")',
    '        self.send_header("Cache-Control", "no-store")',
    '        self.send_header("Content-Length", str(len(body)))',
    '        self.end_headers()',
    '        self.wfile.write(body)',
    '    def log_message(self, *args):',
    '        pass',
    'socketserver.ThreadingTCPServer.allow_reuse_address = True',
    'server = socketserver.ThreadingTCPServer(("", PORT), Handler)',
    'signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))',
    'print(f"placeholder {SERVICE} {VERSION} listening on {PORT}", flush=True)',
    'server.serve_forever()',
  ].join('\n');
  return ApplicationSource.inline({ files: { 'server.py': `${server}\n` }, startCommand: '/usr/bin/python3 server.py' });
}
