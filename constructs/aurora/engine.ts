import * as rds from 'aws-cdk-lib/aws-rds';
import type { IConstruct } from 'constructs';
import { unscopedValidationError, validationError } from '../common/errors';

/** The Aurora engines {@link AuroraDatabase} supports: Aurora PostgreSQL and Aurora MySQL 3. */
export type AuroraEngineKind = 'postgres' | 'mysql';

const MYSQL_PREFIX = '8.0.mysql_aurora.';

/**
 * Engine versions aws-cdk-lib knows for `kind`, in its order (oldest first): `16.6`, `17.4`... for
 * PostgreSQL (limitless versions excluded), `3.08.0`... for MySQL (Aurora MySQL 3 only).
 */
export function auroraEngineVersions(kind: AuroraEngineKind): readonly string[] {
  if (kind === 'postgres') {
    return Object.values(rds.AuroraPostgresEngineVersion)
      .filter((v): v is rds.AuroraPostgresEngineVersion => v instanceof rds.AuroraPostgresEngineVersion)
      .map((v) => v.auroraPostgresFullVersion)
      .filter((v) => !v.includes('limitless'));
  }
  return Object.values(rds.AuroraMysqlEngineVersion)
    .filter((v): v is rds.AuroraMysqlEngineVersion => v instanceof rds.AuroraMysqlEngineVersion)
    .map((v) => v.auroraMysqlFullVersion)
    .filter((v) => v.startsWith(MYSQL_PREFIX))
    .map((v) => v.slice(MYSQL_PREFIX.length));
}

/**
 * The cluster engine for `kind` at `version` (`16.6`, `3.08.0`). Throws a `ValidationError` (of `scope`, when
 * given), naming the version and the known versions of the same major, when aws-cdk-lib does not know it.
 */
export function auroraEngine(kind: AuroraEngineKind, version: string, scope?: IConstruct): rds.IClusterEngine {
  const known = auroraEngineVersions(kind);
  if (!known.includes(version)) {
    const major = version.split('.')[0];
    const near = known.filter((v) => v.split('.')[0] === major).slice(-6);
    const message = `AuroraDatabase: engineVersion ${JSON.stringify(version)} is not an Aurora ${kind === 'postgres' ? 'PostgreSQL' : 'MySQL 3'} version (known: ${(near.length ? near : known.slice(-6)).join(', ')})`;
    throw scope ? validationError(scope, message) : unscopedValidationError(message);
  }
  if (kind === 'postgres') {
    const [maj] = version.split('.');
    return rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.of(version, maj) });
  }
  return rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.of(`${MYSQL_PREFIX}${version}`, '8.0') });
}

/**
 * The CloudWatch metric of a Global Database secondary's lag behind the writer's region that the Aurora User Guide
 * advises watching: `AuroraGlobalDBRPOLag` for every Aurora PostgreSQL version and for Aurora MySQL 3.04.0 and later,
 * `AuroraGlobalDBReplicationLag` for earlier Aurora MySQL 3 versions.
 */
export function globalLagMetricName(kind: AuroraEngineKind, version: string): 'AuroraGlobalDBRPOLag' | 'AuroraGlobalDBReplicationLag' {
  if (kind === 'postgres') return 'AuroraGlobalDBRPOLag';
  const [major, minor] = version.split('.').map(Number);
  return major > 3 || (major === 3 && minor >= 4) ? 'AuroraGlobalDBRPOLag' : 'AuroraGlobalDBReplicationLag';
}
