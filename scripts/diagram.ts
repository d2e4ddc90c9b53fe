// `npm run diagram [-- config/other.json]`: draws the synthesized reference app as docs/architecture.svg.
import { App } from 'aws-cdk-lib/core';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildApp } from '../lib/app';
import { DEFAULT_CONFIG_PATH, loadConfigFile } from '../lib/config';
import { modelFromApp, renderSvg } from '../lib/diagram';

process.env.CDK_VALIDATION ??= 'false';
const root = join(__dirname, '..');
const configFile = process.argv[2] ?? DEFAULT_CONFIG_PATH;
const output = process.argv[3] ?? join(root, 'docs', 'architecture.svg');
const context = (JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
const app = new App({ context });
buildApp(app, loadConfigFile(configFile), { nagChecks: false });
const svg = renderSvg(modelFromApp(app));
mkdirSync(dirname(output), { recursive: true });
writeFileSync(output, svg);
console.log(`wrote ${output} (${configFile})`);
