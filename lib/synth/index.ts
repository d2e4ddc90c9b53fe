import { App, cx_api as cxapi } from 'aws-cdk-lib';
import { buildApp } from '../app';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfigFile } from '../config';

/**
 * Entry point of the reference CDK app (`bin/app.ts`): reads the config named by `-c config=PATH`
 * (default `config/millions.json`), validates it, builds every stack and synthesizes. An invalid config
 * prints every problem and exits 1 before anything is written to `cdk.out`.
 */
export function synthReferenceApp(): void {
  // Without this, every warning on a stack prints the stack's creation site (lib/app.ts:58) above it: a line in
  // this library, not in anything the user wrote (their input is the config file). `cdk synth --debug` keeps it.
  const app = new App({ context: { [cxapi.DISABLE_CREATION_STACK_TRACES]: true } });
  const path = (app.node.tryGetContext('config') as string | undefined) ?? DEFAULT_CONFIG_PATH;
  try {
    buildApp(app, loadConfigFile(path));
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
  app.synth();
}
