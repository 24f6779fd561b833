// Server-rendered pages: Handlebars with one layout and partials. In production every page
// is compiled once, at startup, and rendered synchronously; in development @fastify/view
// reads the templates again on every render.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fastifyView from '@fastify/view';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import Handlebars from 'handlebars';
import { formatDateBR } from '../lib/dates.js';
import { formatBRL } from '../lib/money.js';
import { projectPath } from '../lib/paths.js';

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Sends `pages/{page}.hbs` in the layout. `data` becomes the template's context and may be
     * added to (pass a fresh object): copying it would cost more than rendering a small page.
     */
    renderPage(page: string, data?: Record<string, unknown>): FastifyReply;
  }
}

const VIEWS = projectPath('views');

const HELPERS = {
  brl: (cents: number) => formatBRL(cents),
  dateBR: (date: string) => (date ? formatDateBR(date) : ''),
  eq: (a: unknown, b: unknown) => a === b,
};

export function createHandlebars(): typeof Handlebars {
  const hbs = Handlebars.create();
  for (const [name, helper] of Object.entries(HELPERS)) hbs.registerHelper(name, helper);
  return hbs;
}

/**
 * Production compile options. Only the helpers registered above (and Handlebars' own: if,
 * each, unless, with, lookup, log) may be called, so `{{name}}` compiles to a plain lookup
 * instead of first looking for a helper called `name` (the same output, about a fifth less
 * time per page); a template calling any other helper fails to compile, at startup.
 */
const COMPILE_OPTIONS = {
  knownHelpers: Object.fromEntries(Object.keys(HELPERS).map((name) => [name, true])),
  knownHelpersOnly: true,
} satisfies Parameters<typeof Handlebars.compile>[1];

/** Page names (`portal/debts`) of every template under views/pages. */
function pageNames(dir = path.join(VIEWS, 'pages'), prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return pageNames(path.join(dir, entry.name), `${prefix}${entry.name}/`);
    return entry.name.endsWith('.hbs') ? [`${prefix}${path.basename(entry.name, '.hbs')}`] : [];
  });
}

function partials(): Record<string, string> {
  const dir = path.join(VIEWS, 'partials');
  const out: Record<string, string> = {};
  for (const file of readdirSync(dir)) {
    if (file.endsWith('.hbs')) out[path.basename(file, '.hbs')] = `partials/${file}`;
  }
  return out;
}

const STATUS_MESSAGES: Record<number, { title: string; message: string }> = {
  400: { title: 'Pedido inválido', message: 'Não conseguimos entender o pedido. Volte e tente de novo.' },
  403: { title: 'Sessão expirada', message: 'Por segurança, este formulário expirou. Volte, recarregue a página e tente de novo.' },
  404: { title: 'Página não encontrada', message: 'O endereço não existe ou não está mais disponível.' },
  429: { title: 'Muitas tentativas', message: 'Houve muitas tentativas seguidas a partir desta conexão.' },
  500: { title: 'Algo deu errado', message: 'Tivemos um problema do nosso lado. Nada do que você fez se perdeu; tente de novo em alguns minutos.' },
  503: { title: 'Serviço indisponível', message: 'O serviço está em manutenção. Tente de novo em alguns minutos.' },
};

async function viewPlugin(app: FastifyInstance, opts: { production: boolean }): Promise<void> {
  const hbs = createHandlebars();
  // @fastify/view only in development, where it reads the templates again on every render;
  // in production it would only add a hook that gives every request an unused `reply.locals`.
  if (!opts.production) {
    await app.register(fastifyView, {
      engine: { handlebars: hbs },
      root: VIEWS,
      layout: 'layouts/main.hbs',
      viewExt: 'hbs',
      production: false,
      options: { partials: partials() },
    });
  }

  // In production each page is compiled once, at startup, inside the layout, and rendered in
  // one synchronous call (the page as a partial where the layout prints {{{body}}}: the same
  // HTML as rendering the page and then the layout, as @fastify/view does, for half the
  // template setup; `ignoreStandalone` keeps the layout's line breaks around it).
  const pages = new Map<string, (context: Record<string, unknown>) => string>();
  if (opts.production) {
    for (const [name, file] of Object.entries(partials())) hbs.registerPartial(name, hbs.compile(readFileSync(path.join(VIEWS, file), 'utf8'), COMPILE_OPTIONS));
    const layoutSource = readFileSync(path.join(VIEWS, 'layouts/main.hbs'), 'utf8');
    for (const page of pageNames()) {
      const pagePartial = { __page__: hbs.compile(readFileSync(path.join(VIEWS, `pages/${page}.hbs`), 'utf8'), COMPILE_OPTIONS) };
      const withLayout = hbs.compile(layoutSource.replace('{{{body}}}', '{{> __page__}}'), { ...COMPILE_OPTIONS, ignoreStandalone: true });
      // Handlebars compiles on the first call: a dry run here moves that to startup, so that a
      // template error (an unknown helper, a missing partial) stops the server from starting.
      // A helper's own error on the empty context is no template error.
      try {
        withLayout({}, { partials: pagePartial });
      } catch (err) {
        if (err instanceof hbs.Exception) throw err;
      }
      pages.set(page, (context) => withLayout(context, { partials: pagePartial }));
    }
  }
  const compiledPage = (page: string) => {
    const render = pages.get(page);
    if (!render) throw new Error(`no page template views/pages/${page}.hbs`);
    return render;
  };

  const errorContext = (status: number, data: Record<string, unknown>) => {
    const known = STATUS_MESSAGES[status] ?? (status >= 500 ? STATUS_MESSAGES[500]! : STATUS_MESSAGES[400]!);
    return { ...known, ...data };
  };
  app.decorateReply('renderPage', function (this: FastifyReply, page: string, data: Record<string, unknown> = {}) {
    const context = page === 'error' ? errorContext(typeof data.status === 'number' ? data.status : this.statusCode, data) : data;
    this.header('referrer-policy', 'no-referrer');
    this.header('cache-control', 'no-store');
    this.type('text/html; charset=utf-8');
    if (!opts.production) return this.view(`pages/${page}.hbs`, context) as unknown as FastifyReply;
    return this.send(compiledPage(page)(context));
  });
}

export const CSS = readFileSync(path.join(VIEWS, 'static', 'quita.css'), 'utf8');

export default fp(viewPlugin, { name: 'view' });
