import { isIP } from 'node:net';
import type { GeoLocation } from '../types';
import { RecentCache } from '../util/recentCache';

type GeoLookup = (ip: string) => { country?: string; region?: string; city?: string; timezone?: string } | null;

/**
 * Country, region and city for public addresses. geoip-lite costs about 140 MB and a quarter of a
 * second to load, so it is required on the first public address, never at start-up.
 */
export class GeoLocator {
  private lookup: GeoLookup | undefined;
  private readonly cache = new RecentCache<string, GeoLocation | null>(5000);

  constructor(private readonly enabled: boolean, private readonly onLoadError: (error: unknown) => void) {}

  locate(ip: string | null): GeoLocation | null {
    if (!this.enabled || ip === null) return null;
    const cached = this.cache.get(ip);
    if (cached !== undefined) return cached;
    const location = isPublicAddress(ip) ? this.resolve(ip) : null;
    this.cache.set(ip, location);
    return location;
  }

  private resolve(ip: string): GeoLocation | null {
    try {
      this.lookup ??= (require('geoip-lite') as { lookup: GeoLookup }).lookup;
      const found = this.lookup(ip);
      if (!found) return null;
      // Shared by every request from this address: frozen, so the write path serializes it once.
      return Object.freeze({
        country: found.country || null,
        region: found.region || null,
        city: found.city || null,
        timezone: found.timezone || null,
      });
    } catch (error) {
      this.onLoadError(error);
      return null;
    }
  }
}

/** False for loopback, private, link-local, CGNAT, documentation-free unique-local and unspecified ranges. */
export function isPublicAddress(ip: string): boolean {
  const version = isIP(ip);
  if (version === 4) {
    const [a = 0, b = 0] = ip.split('.').map(Number);
    if (a === 10 || a === 127 || a === 0 || a >= 224) return false;
    if (a === 169 && b === 254) return false;
    if (a === 172 && b >= 16 && b <= 31) return false;
    if (a === 192 && b === 168) return false;
    if (a === 100 && b >= 64 && b <= 127) return false;
    return true;
  }
  if (version === 6) {
    const lower = ip.toLowerCase();
    if (lower === '::1' || lower === '::') return false;
    if (/^f[cd]/.test(lower) || /^fe[89ab]/.test(lower) || lower.startsWith('ff')) return false;
    return true;
  }
  return false;
}
