/**
 * A strict structural check of a report's HTML, written apart from the
 * renderer: every element closed in order (void elements and SVG's "/>"
 * aside), script and style bodies skipped as raw text, and nothing that
 * would load from elsewhere (src, href, url(), @import, any http(s) URL).
 */
const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link', 'col', 'wbr', 'area', 'base', 'source', 'track', 'embed', 'param']);

export function checkHtml(html: string): { problems: string[]; svg: number; elements: number } {
  const problems: string[] = [];
  if (!/^<!DOCTYPE html>/i.test(html)) problems.push('no <!DOCTYPE html> at the start');
  for (const re of [/\bsrc\s*=/i, /\bhref\s*=/i, /url\s*\(/i, /@import/i, /https?:/i, /\/\/[a-z0-9.-]+\.[a-z]{2,}\//i]) {
    const m = re.exec(html);
    if (m) problems.push(`external reference ${JSON.stringify(html.slice(Math.max(0, m.index - 20), m.index + 40))}`);
  }
  const stack: string[] = [];
  let svg = 0;
  let elements = 0;
  const tag = /<!--[\s\S]*?-->|<!DOCTYPE[^>]*>|<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(\/?)>/g;
  let at = 0;
  for (let m = tag.exec(html); m; m = tag.exec(html)) {
    const between = html.slice(at, m.index);
    if (/[<>]/.test(between.replace(/&lt;|&gt;/g, ''))) problems.push(`a stray < or > near ${JSON.stringify(html.slice(at, at + 60))}`);
    at = tag.lastIndex;
    if (!m[2]) continue;
    const name = m[2].toLowerCase();
    if (m[1]) {
      const open = stack.pop();
      if (open !== name) {
        problems.push(`</${name}> closes <${open ?? 'nothing'}> at ${m.index}`);
        break;
      }
      continue;
    }
    elements++;
    if (name === 'svg') svg++;
    if (m[4] || VOID.has(name)) continue;
    if (name === 'script' || name === 'style') {
      const end = html.indexOf(`</${name}>`, tag.lastIndex);
      if (end < 0) {
        problems.push(`<${name}> never closed`);
        break;
      }
      tag.lastIndex = at = end + name.length + 3;
      continue;
    }
    stack.push(name);
  }
  if (stack.length) problems.push(`left open: ${stack.join(' > ')}`);
  return { problems, svg, elements };
}
