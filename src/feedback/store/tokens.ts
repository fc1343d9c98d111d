// Access tokens and display orders: pure functions every backend shares, so a task looks the same to a
// labeler whichever database serves it.

import { createHash, randomBytes } from 'node:crypto';

/** The hex SHA-256 of an access token: all the store keeps of it. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new access token: 32 random bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The display order of a task's K completions for one labeler: a permutation fixed by (task, labeler). */
export function shownOrder(taskId: number, labelerId: number, K: number): number[] {
  const h = createHash('sha512').update(`${taskId}:${labelerId}`).digest(); // 64 bytes: 4 per draw, K ≤ 16
  const order = Array.from({ length: K }, (_, i) => i);
  for (let i = K - 1; i > 0; i--) {
    const j = h.readUInt32BE(4 * (K - 1 - i)) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
