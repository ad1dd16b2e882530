// `stepwise __complete <words...>`: what the shell should offer for the last word, one candidate a line and a
// last line `:<directive>`, the protocol of cobra's `__complete` that kubectl's plugin completion
// (kubectl_complete-<plugin>, kubernetes/kubernetes#105867) and our bash/zsh/fish scripts read.
// Rollout names and namespaces come from the cluster, with the -n/--kubeconfig/--context in the words.
import { CoreV1Api } from '@kubernetes/client-node';
import type { Command, Option } from 'commander';
import { connect } from './cluster-options.js';

/** cobra's ShellCompDirective: 0 lets the shell complete file names too, 4 (NoFileComp) does not. */
const FILES = 0;
const NO_FILES = 4;

interface Completion {
  candidates: string[];
  directive: number;
}

function flagValue(words: string[], names: string[]): string | undefined {
  for (let i = words.length - 2; i >= 0; i--) {
    const word = words[i]!;
    if (names.includes(word)) return words[i + 1];
    const inline = names.find((n) => n.startsWith('--') && word.startsWith(`${n}=`));
    if (inline) return word.slice(inline.length + 1);
  }
  return undefined;
}

const takesValue = (option: Option) => option.required || option.optional;

/** The positional arguments already given (the words that are not flags or flag values). */
function positionals(command: Command, words: string[]): string[] {
  const result: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const option = command.options.find((o) => o.short === word || o.long === word);
    if (option) {
      if (takesValue(option)) i++;
    } else if (!word.startsWith('-')) result.push(word);
  }
  return result;
}

async function fromCluster(words: string[], what: 'rollouts' | 'namespaces'): Promise<string[]> {
  const { cluster, namespace, kubeConfig } = connect({
    kubeconfig: flagValue(words, ['--kubeconfig']),
    context: flagValue(words, ['--context']),
    namespace: flagValue(words, ['-n', '--namespace']),
  });
  if (what === 'rollouts') return (await cluster.listRollouts(namespace)).items.map((r) => r.metadata.name);
  const list = await kubeConfig.makeApiClient(CoreV1Api).listNamespace();
  return list.items.map((n) => n.metadata?.name ?? '').filter(Boolean);
}

export async function complete(program: Command, words: string[]): Promise<Completion> {
  const current = words.at(-1) ?? '';
  const match = (candidates: string[], directive = NO_FILES): Completion => ({
    candidates: candidates.filter((c) => c.startsWith(current)),
    directive,
  });
  const visible = program.commands.filter((c) => c.name() !== '__complete');
  if (words.length <= 1) return match(visible.map((c) => c.name()));
  const command = visible.find((c) => c.name() === words[0] || c.aliases().includes(words[0]!));
  if (!command) return match([]);
  const before = words.slice(1, -1);
  const previous = before.at(-1);
  const option = command.options.find((o) => o.short === previous || o.long === previous);
  if (option && takesValue(option)) {
    if (option.long === '--namespace') return match(await fromCluster(before, 'namespaces').catch(() => []));
    if (option.argChoices) return match(option.argChoices);
    return match([], option.long === '--kubeconfig' ? FILES : NO_FILES);
  }
  if (current.startsWith('-')) {
    return match(
      [...command.options.flatMap((o) => [o.short, o.long]), '--help'].filter((f): f is string => !!f),
    );
  }
  const argument = command.registeredArguments[positionals(command, before).length];
  if (argument?.name() === 'rollout') return match(await fromCluster(before, 'rollouts').catch(() => []));
  if (argument?.argChoices) return match(argument.argChoices);
  return match([], argument ? FILES : NO_FILES);
}

/** The hidden command the completion scripts call. */
export function registerCompleteCommand(program: Command): void {
  program
    .command('__complete', { hidden: true })
    .description('print the completions of the last word, in cobra’s format')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async () => {
      // Every word after __complete, flags included: commander would otherwise parse them as our own.
      const words = process.argv.slice(process.argv.indexOf('__complete') + 1);
      const { candidates, directive } = await complete(program, words.length ? words : ['']);
      process.stdout.write([...candidates, `:${directive}`].join('\n') + '\n');
    });
}
