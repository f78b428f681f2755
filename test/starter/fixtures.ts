import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const goodFixtureDir = resolve(import.meta.dirname, '../fixtures/messages');
export const badFixtureDir = resolve(import.meta.dirname, '../fixtures/bad');

export const goodFixtureNames = (): string[] => readdirSync(goodFixtureDir).sort();
export const badFixtureNames = (): string[] => readdirSync(badFixtureDir).sort();

export const readGoodFixture = (name: string): string => readFileSync(resolve(goodFixtureDir, name), 'utf8');
export const readBadFixture = (name: string): string => readFileSync(resolve(badFixtureDir, name), 'utf8');
