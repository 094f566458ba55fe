using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace Serverless.Pipelines.Hosting.Cli;

/// <summary>
/// Runs a System.CommandLine command the way every executable of the pipeline host answers: <c>--help</c> to
/// standard output with exit code 0, a usage mistake as one <c>error:</c> line per mistake naming the option,
/// command or argument with exit code 2 (the code the <c>pipelines</c> CLI always used), otherwise the command's action.
/// </summary>
internal static class CommandLineInvoker
{
    public const int UsageError = 2;

    public static async Task<int> InvokeAsync(RootCommand root, string[] args, TextWriter stdout, TextWriter stderr)
    {
        var result = root.Parse(args);
        var configuration = new InvocationConfiguration { Output = stdout, Error = stderr, ProcessTerminationTimeout = null };
        if (result.Action is HelpAction)
        {
            return await result.InvokeAsync(configuration);
        }

        if (result.Errors.Count > 0)
        {
            var messages = result.UnmatchedTokens.Count == 0
                ? result.Errors.Select(e => e.SymbolResult is ArgumentResult { Tokens.Count: 0 } missing ? $"missing {missing.Argument.Name}" : e.Message)
                : result.UnmatchedTokens.Select(t => t.StartsWith('-') ? $"unknown option '{t}'"
                    : result.CommandResult.Command == root ? $"unknown command '{t}'" : $"unexpected argument '{t}'");
            foreach (var message in messages)
            {
                await stderr.WriteLineAsync($"error: {message}");
            }

            var name = result.CommandResult.Command == root ? root.Name : $"{root.Name} {result.CommandResult.Command.Name}";
            await stderr.WriteLineAsync($"see '{name} --help'");
            return UsageError;
        }

        return await result.InvokeAsync(configuration);
    }
}
