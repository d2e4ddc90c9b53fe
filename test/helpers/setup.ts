// The offline template validator runs at every synth; the tests that assert its findings turn it on
// explicitly (see test/helpers/app.ts). Everything else synthesizes faster without it.
process.env.CDK_VALIDATION ??= 'false';
