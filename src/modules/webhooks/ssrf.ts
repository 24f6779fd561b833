// Which addresses a webhook may reach. Creditors choose the URL, so without this guard
// Quita's own network (the database, the cloud metadata service at 169.254.169.254,
// anything on loopback) would be theirs to probe. Checked on the URL at registration and
// again on every address DNS gives at delivery, and the connection is pinned to the
// address that passed, so a name that re-resolves elsewhere (DNS rebinding) gains nothing.
import { isIP } from 'node:net';

interface Range {
  base: bigint;
  bits: number;
  reason: string;
}

function parseV4(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

/** A valid IPv6 text (as `isIP` accepts it, zone already removed) as a 128-bit number. */
function parseV6(ip: string): bigint {
  let text = ip;
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const v4 = parseV4(quad[1]!);
    text = `${text.slice(0, -quad[1]!.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const v4 = (cidr: string, reason: string): Range => {
  const [ip, bits] = cidr.split('/');
  return { base: parseV4(ip!), bits: Number(bits), reason };
};
const v6 = (cidr: string, reason: string): Range => {
  const [ip, bits] = cidr.split('/');
  return { base: parseV6(ip!), bits: Number(bits), reason };
};

// IANA's special-purpose registries: everything not globally reachable.
const V4_BLOCKED: Range[] = [
  v4('0.0.0.0/8', 'unspecified'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'shared (CGNAT)'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'),
  v4('192.0.2.0/24', 'documentation'),
  v4('192.88.99.0/24', 'reserved'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'benchmarking'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
];

const V6_BLOCKED: Range[] = [
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  v6('64:ff9b:1::/48', 'private'),
  v6('100::/64', 'reserved'),
  v6('2001::/23', 'reserved'),
  v6('2001:db8::/32', 'documentation'),
  v6('fc00::/7', 'private'),
  v6('fe80::/10', 'link-local'),
  v6('fec0::/10', 'site-local'),
  v6('ff00::/8', 'multicast'),
];

/** IPv6 prefixes that carry an IPv4 address in their low 32 bits: that address decides. */
const V6_EMBEDDING_V4: Range[] = [
  v6('::ffff:0:0/96', 'IPv4-mapped'),
  v6('::/96', 'IPv4-compatible'),
  v6('64:ff9b::/96', 'NAT64'),
];

function inRange(value: bigint, width: number, range: Range): boolean {
  const shift = BigInt(width - range.bits);
  return value >> shift === range.base >> shift;
}

/** Why an address must not be reached, or null when it is a public unicast address. */
export function blockedAddressReason(address: string): string | null {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(ip);
  if (family === 4) {
    const value = parseV4(ip);
    if (value === 0xffffffffn) return 'broadcast';
    return V4_BLOCKED.find((r) => inRange(value, 32, r))?.reason ?? null;
  }
  if (family === 6) {
    const value = parseV6(ip);
    for (const range of V6_EMBEDDING_V4) {
      if (inRange(value, 128, range) && !(range.bits === 96 && value <= 1n)) {
        const embedded = value & 0xffffffffn;
        const dotted = [24n, 16n, 8n, 0n].map((s) => String((embedded >> s) & 0xffn)).join('.');
        return blockedAddressReason(dotted);
      }
    }
    // 6to4 (2002::/16) carries an IPv4 address in bits 16–47.
    if (value >> 112n === 0x2002n) {
      const embedded = (value >> 80n) & 0xffffffffn;
      return blockedAddressReason([24n, 16n, 8n, 0n].map((s) => String((embedded >> s) & 0xffn)).join('.'));
    }
    return V6_BLOCKED.find((r) => inRange(value, 128, r))?.reason ?? null;
  }
  return 'not an IP address';
}

const LOCAL_NAMES = /(^|\.)(localhost|localdomain|local|internal|home\.arpa)\.?$/i;

/**
 * The registration-time check on a URL's host: an IP literal in a blocked range, or a
 * name that by convention resolves locally. Other names are checked after DNS, at delivery.
 */
export function blockedHostReason(hostname: string): string | null {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    const reason = blockedAddressReason(host);
    return reason ? `${host} is a ${reason} address` : null;
  }
  if (LOCAL_NAMES.test(host)) return `${host} is a local name`;
  return null;
}
