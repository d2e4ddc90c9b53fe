/** AWS SDK client settings that point at the run's moto_server (no credentials exist; moto accepts any). */
import type { TestServices } from './index';

/** `{ region, endpoint, credentials }` for any SDK v3 client constructor. */
export function motoClientConfig(services: TestServices): { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
  return { region: services.moto.region, endpoint: services.moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
}
