using System.CommandLine;
using Rain.Models.Onnx;

namespace Rain.Cli;

/// <summary><c>rain inspect --onnx FILE…</c>: prints the opset, inputs, outputs and operator counts of exported ONNX files.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var onnx = new Option<FileInfo[]>("--onnx") { Description = "ONNX files to describe (external data is not read)", Required = true, AllowMultipleArgumentsPerToken = true };
        var command = new Command("inspect", "Describe exported model files.") { onnx };
        command.SetAction(result =>
        {
            int status = 0;
            foreach (var file in result.GetValue(onnx) ?? [])
            {
                try
                {
                    Console.Out.WriteLine(OnnxReport.Read(file.FullName).ToString());
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or Google.Protobuf.InvalidProtocolBufferException)
                {
                    Console.Error.WriteLine($"rain inspect: {file.FullName}: {e.Message}");
                    status = 1;
                }
            }

            return status;
        });
        return command;
    }
}
