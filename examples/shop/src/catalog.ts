/**
 * Catalog reads: cache-aside in front of the readers. The catalog is global data on the database published under
 * `<prefix>/database`; most requests read it, almost none write it, so it is served from the cache, and a miss
 * reads a replica (an `eventual` read: a product changed a second ago may show its old price, as it may for the
 * cache's TTL anyway).
 *
 * @module
 */

import type { CacheAside, Runtime } from 'scale-to-millions/runtime';
import type { ShopSession } from './shop';

/** A product as the API shows it. */
export interface Product {
  readonly id: string;
  readonly name: string;
  readonly priceCents: number;
}

interface ProductRow {
  readonly id: string;
  readonly name: string;
  readonly price_cents: number;
}

const toProduct = (r: ProductRow): Product => ({ id: r.id, name: r.name, priceCents: r.price_cents });

/** How long a cached catalog answer may be served: the staleness a price change can have. */
export const CATALOG_TTL_SECONDS = { list: 60, product: 300, missing: 30 } as const;

/** The catalog, read through the cache. */
export class Catalog {
  private readonly cache: CacheAside;

  /** @param rt - the shop's runtime */
  public constructor(private readonly rt: Runtime<ShopSession>) {
    // An unknown product id is cached as "not found" too, so probing ids cannot walk past the cache to the database.
    this.cache = rt.cacheAside('catalog:', { negativeTtlSeconds: CATALOG_TTL_SECONDS.missing });
  }

  /** Every product, by id. */
  public list(): Promise<Product[]> {
    return this.cache.getOrLoad('all', CATALOG_TTL_SECONDS.list, async () => {
      const { rows } = await this.rt.database.read<ProductRow>('SELECT id, name, price_cents FROM products ORDER BY id');
      return rows.map(toProduct);
    });
  }

  /** One product, or `undefined` when there is none with that id. */
  public product(id: string): Promise<Product | undefined> {
    return this.cache.getOrLoad(`product:${id}`, CATALOG_TTL_SECONDS.product, async () => {
      const { rows } = await this.rt.database.read<ProductRow>('SELECT id, name, price_cents FROM products WHERE id = $1', [id]);
      return rows[0] === undefined ? undefined : toProduct(rows[0]);
    });
  }
}
