const path = require('path'), fs = require('fs');
const libdir = path.dirname(require.resolve('aws-cdk-lib/package.json'));
const t0 = performance.now();
const cv = require(require.resolve('@aws/cloudformation-validate', { paths: [libdir] }));
const t1 = performance.now();
const engine = new cv.CompositeEngine({});
const t2 = performance.now();
const cfg = { detailLevel: 'STANDARD', pseudoParameterOverrides: {}, exclude: { ids: ["W3005","W1020","I4010","W4011","W4012","W9002","W9013","W1103"], services: [{ ruleId: 'W3697', service: 'AWS::AutoScaling' }] }, severityLevel: 'WARN' };
const tiny = JSON.stringify({ Resources: { B: { Type: 'AWS::S3::Bucket' } } });
engine.validateTemplate(new cv.TemplateContent(tiny, 'x.json'), cfg);
const t3 = performance.now();
const dir = process.argv[2];
const files = fs.readdirSync(dir).filter(f => f.endsWith('.template.json')).map(f => path.join(dir, f));
const per = [];
for (const round of [0, 1]) for (const f of files) {
  const s = performance.now();
  engine.validateTemplate(new cv.TemplateContent(fs.readFileSync(f, 'utf8'), f), cfg);
  per.push(`${round} ${path.basename(f)} ${Math.round(performance.now() - s)}`);
}
console.log({ require: Math.round(t1 - t0), ctor: Math.round(t2 - t1), tiny: Math.round(t3 - t2), all: Math.round(performance.now() - t3) });
console.log(per.join('\n'));
