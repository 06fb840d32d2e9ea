import { render } from 'preact';
import { App } from './app';
import { readConfig } from './config';

/** Mounts the console into the shell's #console element. */
const root = document.getElementById('console');
if (root) render(<App config={readConfig(root)} />, root);
