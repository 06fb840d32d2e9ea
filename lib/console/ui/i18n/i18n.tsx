import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { en, type Messages } from './en';
import type { M } from './keys';
import { ptBR } from './ptBR';
import { createFormatters, type Formatters } from '../format/formatters';

export const LANGUAGES = ['en', 'pt-BR'] as const;
export type Language = (typeof LANGUAGES)[number];

const DICTIONARIES: Record<Language, Messages> = { en, 'pt-BR': ptBR };
/** Each language's name in itself, as the language picker lists it. */
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', 'pt-BR': 'Português (Brasil)' };

const LANGUAGE_KEY = 'activityTrackingLanguage';

export type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

export interface I18n {
  lang: Language;
  t: Translate;
  fmt: Formatters;
  /** Switches the whole console to another language (and remembers the choice). */
  setLang(lang: Language): void;
}

/** The stored choice, else the first of the browser's languages the console speaks, else English. */
export function initialLanguage(): Language {
  try {
    const stored = localStorage.getItem(LANGUAGE_KEY);
    if (stored !== null && (LANGUAGES as readonly string[]).includes(stored)) return stored as Language;
  } catch {
    // Storage disabled: the browser's languages decide.
  }
  for (const tag of navigator.languages ?? [navigator.language]) {
    const lower = tag.toLowerCase();
    if (lower.startsWith('pt')) return 'pt-BR';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

export function rememberLanguage(lang: Language): void {
  try {
    localStorage.setItem(LANGUAGE_KEY, lang);
  } catch {
    // Storage disabled: the choice lasts as long as the page.
  }
  document.documentElement.lang = lang;
}

export function createI18n(lang: Language, setLang: (lang: Language) => void = () => {}): I18n {
  const messages = DICTIONARIES[lang];
  const t: Translate = (key, values) => {
    const text = messages[key];
    if (values === undefined) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
  };
  return { lang, t, fmt: createFormatters(lang), setLang };
}

export const I18nContext = createContext<I18n>(createI18n('en'));

export function useI18n(): I18n {
  return useContext(I18nContext);
}

/** The name of a text: a member of the M enum (i18n/keys.ts). */
export type MessageKey = M;
